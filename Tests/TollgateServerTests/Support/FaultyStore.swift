import Foundation
import Synchronization
import TollgateCore
@testable import TollgateServer

/// A record store in front of a real one whose writes and `contains` can be made to fail as a
/// database outage does (``StoreUnavailable``) or to hang the way a query on a connection that
/// has just closed can (never answering, whatever the caller does).
final class FaultyStore: RecordStore {
    enum Fault: Sendable {
        case none
        /// The next `count` calls throw ``StoreUnavailable``; the ones after work.
        case unavailable(count: Int)
        case hang
    }

    let inner: any RecordStore
    let inserts = Mutex(Fault.none)
    /// Faults after a write went through: the commit happened, its answer was lost.
    let afterInserts = Mutex(Fault.none)
    let checks = Mutex(Fault.none)
    /// Calls that never answer, kept so that they stay suspended rather than leak.
    let parked = Mutex<[CheckedContinuation<Void, Never>]>([])

    init(_ inner: any RecordStore) {
        self.inner = inner
    }

    /// Fails or hangs as `fault` says, and counts a failure down.
    func apply(_ fault: borrowing Mutex<Fault>) async throws {
        let now = fault.withLock { f -> Fault in
            switch f {
            case .unavailable(let count) where count > 0:
                f = .unavailable(count: count - 1)
                return f
            case .unavailable:
                return .none
            default:
                return f
            }
        }
        switch now {
        case .none: return
        case .unavailable: throw StoreUnavailable("the test's database is down")
        case .hang: await withCheckedContinuation { continuation in parked.withLock { $0.append(continuation) } }
        }
    }

    func insert(_ batch: [StoredExchange], moreWaiting: Bool) async throws {
        try await apply(inserts)
        try await inner.insert(batch, moreWaiting: moreWaiting)
        try await apply(afterInserts)
    }

    func mergeAnalytics() async throws { try await inner.mergeAnalytics() }

    func mergePendingAnalytics(writtenBefore cutoff: Date) async throws -> Int {
        try await inner.mergePendingAnalytics(writtenBefore: cutoff)
    }

    func contains(id: UUID) async throws -> Bool {
        try await apply(checks)
        return try await inner.contains(id: id)
    }

    func migrate() async throws { try await inner.migrate() }
    func close() async { await inner.close() }
    func record(id: UUID) async throws -> RequestRecord? { try await inner.record(id: id) }
    func records(matching query: RecordQuery) async throws -> RecordPage { try await inner.records(matching: query) }
    func unpricedModels(project: String?) async throws -> [UnpricedModel] {
        try await inner.unpricedModels(project: project)
    }

    func analyticsRows(dimension: String, values: [String]?, project: String?, pieces: [AnalyticsRange.Piece]) async throws -> [AnalyticsAnswer.Row] {
        try await inner.analyticsRows(dimension: dimension, values: values, project: project, pieces: pieces)
    }
    func propertyNames(project: String?, start: Int64, end: Int64) async throws -> [String] {
        try await inner.propertyNames(project: project, start: start, end: end)
    }
    func scan(_ query: RecordQuery, into scan: AnalyticsScan) async throws -> AnalyticsScan? { try await inner.scan(query, into: scan) }
    func deleteAnalytics(_ resolution: AnalyticsResolution, before: Int64, limit: Int) async throws -> Int {
        try await inner.deleteAnalytics(resolution, before: before, limit: limit)
    }
    func bodies(id: UUID) async throws -> StoredBodies? { try await inner.bodies(id: id) }
    func setScores(_ scores: [Score], requestID: UUID) async throws { try await inner.setScores(scores, requestID: requestID) }
    func scores(requestIDs: [UUID]) async throws -> [UUID: [Score]] { try await inner.scores(requestIDs: requestIDs) }
    func deleteRecords(before cutoff: Date, limit: Int) async throws -> Int { try await inner.deleteRecords(before: cutoff, limit: limit) }
    func deleteDeliveryLogs(before cutoff: Date, limit: Int) async throws -> Int { try await inner.deleteDeliveryLogs(before: cutoff, limit: limit) }
}

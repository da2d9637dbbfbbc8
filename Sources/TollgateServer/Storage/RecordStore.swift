import Foundation
import TollgateCore

/// One finished call ready to be stored: its record and bodies.
public struct StoredExchange: Sendable {
    public var record: RequestRecord
    public var bodies: StoredBodies
    /// One pending delivery per webhook the call matched, written in the same transaction.
    public var deliveries: [NewDelivery]
    /// False once the bodies are kept elsewhere (S3): then the database gets no bodies row.
    public var bodiesInDatabase: Bool

    public init(record: RequestRecord, bodies: StoredBodies, deliveries: [NewDelivery] = [], bodiesInDatabase: Bool = true) {
        self.record = record
        self.bodies = bodies
        self.deliveries = deliveries
        self.bodiesInDatabase = bodiesInDatabase
    }
}

/// Filters for `GET /v1/requests`.
public struct RecordQuery: Sendable {
    /// Nil means every project (the global admin key).
    public var project: String?
    public var userID: String?
    /// Property filters: lowercased name and exact value; all must hold.
    public var properties: [Property] = []
    public var model: String?
    /// Score filters: name and exact value (booleans as 1 and 0); all must hold.
    public var scores: [Score] = []
    public var status: Int?
    public var since: Date?
    public var until: Date?
    public var limit: Int = 50
    /// Resume after this (created_at microseconds, id) position, newest first.
    public var cursor: RecordCursor?

    public init() {}
}

/// A position in the newest-first listing, opaque to API users.
public struct RecordCursor: Sendable, Equatable {
    public var createdAtMicros: Int64
    public var id: String

    /// `<micros>_<id>`, the form handed out as `next_cursor`.
    public var token: String { "\(createdAtMicros)_\(id)" }

    public init(createdAtMicros: Int64, id: String) {
        self.createdAtMicros = createdAtMicros
        self.id = id
    }

    public init?(token: String) {
        let parts = token.split(separator: "_", maxSplits: 1)
        guard parts.count == 2, let micros = Int64(parts[0]), UUID(uuidString: String(parts[1])) != nil else { return nil }
        self.init(createdAtMicros: micros, id: String(parts[1]))
    }
}

public struct RecordPage: Sendable {
    public var records: [RequestRecord]
    public var nextCursor: RecordCursor?
}

/// An evaluation score a receiver posted for a call (`POST /v1/requests/{id}/scores`).
public struct Score: Sendable, Equatable {
    public var name: String
    public var value: Double
    /// Given as true/false (stored as 1/0) rather than a number.
    public var isBool: Bool

    public init(name: String, value: Double, isBool: Bool) {
        self.name = name
        self.value = value
        self.isBool = isBool
    }
}

/// A model whose calls had usage but no price (`GET /v1/pricing/unpriced`).
public struct UnpricedModel: Sendable, Equatable {
    /// Nil when neither the answer nor the request named a model.
    public var model: String?
    public var provider: String
    public var calls: Int
    public var lastSeen: Date
}

/// Where records and bodies live: ``SQLStore`` on SQLite or PostgreSQL (tests put a
/// ``FaultyStore`` in front of it).
public protocol RecordStore: Sendable {
    /// Creates or upgrades the schema.
    func migrate() async throws
    /// Gives up the database's connections.
    func close() async
    /// Writes a batch of finished calls in one transaction. With `moreWaiting` (more calls are
    /// queued behind it), the batch's analytics may be merged by a later batch's transaction,
    /// within a second (see ``SQLStore/insert(_:moreWaiting:)``).
    func insert(_ batch: [StoredExchange], moreWaiting: Bool) async throws
    /// Merges the analytics of the batches this store wrote with `moreWaiting` and has not merged yet.
    func mergeAnalytics() async throws
    /// Merges the analytics of batches written before `cutoff` that a stopped gateway left
    /// pending; returns how many batches.
    func mergePendingAnalytics(writtenBefore cutoff: Date) async throws -> Int
    func record(id: UUID) async throws -> RequestRecord?
    func records(matching query: RecordQuery) async throws -> RecordPage
    /// Analytics rows of one dimension (``AnalyticsSQL/select(dimension:values:project:pieces:)``).
    func analyticsRows(dimension: String, values: [String]?, project: String?, pieces: [AnalyticsRange.Piece]) async throws -> [AnalyticsAnswer.Row]
    /// The property names with analytics in `[start, end)` (microseconds), at most 100.
    func propertyNames(project: String?, start: Int64, end: Int64) async throws -> [String]
    /// Feeds the calls matching `query` to `scan`; nil when more than ``AnalyticsScan/limit`` match.
    func scan(_ query: RecordQuery, into scan: AnalyticsScan) async throws -> AnalyticsScan?
    /// Deletes up to `limit` analytics rows of `resolution` with buckets starting before `before`
    /// (microseconds); returns how many.
    func deleteAnalytics(_ resolution: AnalyticsResolution, before: Int64, limit: Int) async throws -> Int
    /// The models whose calls went unpriced, in one project or (nil) all.
    func unpricedModels(project: String?) async throws -> [UnpricedModel]
    func bodies(id: UUID) async throws -> StoredBodies?
    /// Whether a record with this id exists (for `Helicone-Request-Id` re-use, answered 409).
    func contains(id: UUID) async throws -> Bool
    /// Sets (adds or replaces by name) scores of a recorded call.
    func setScores(_ scores: [Score], requestID: UUID) async throws
    /// The scores of each of these calls, by name.
    func scores(requestIDs: [UUID]) async throws -> [UUID: [Score]]
    /// Deletes up to `limit` of the oldest records created before `cutoff`, with their bodies,
    /// properties and scores; returns how many.
    func deleteRecords(before cutoff: Date, limit: Int) async throws -> Int
    /// Deletes up to `limit` finished deliveries (and their attempt logs) created before `cutoff`.
    func deleteDeliveryLogs(before cutoff: Date, limit: Int) async throws -> Int
}

extension RecordStore {
    /// Writes a batch with its analytics in the same transaction.
    public func insert(_ batch: [StoredExchange]) async throws {
        try await insert(batch, moreWaiting: false)
    }
}

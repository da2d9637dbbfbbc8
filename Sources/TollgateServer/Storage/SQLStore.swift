import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TollgateCore

/// The store: records, bodies, scores, webhooks and deliveries in one SQL database, SQLite
/// (embedded, the default) or PostgreSQL (several gateways on one database). Every statement
/// is written once (``StoreSQL``, and each table's codec in StoredRows.swift); the engines
/// differ only in their driver (``SQLDatabase``) and its ``SQLDialect``.
///
/// It is also the service that closes the database, after everything that writes to it has
/// stopped (it comes first in the gateway's services, so it stops last).
public final class SQLStore: RecordStore, WebhookStore, Service {
    let database: any SQLDatabase
    var dialect: SQLDialect { database.dialect }
    /// Batches written whose analytics wait for a later batch's transaction.
    let backlog = Mutex(AnalyticsBacklog())

    init(_ database: any SQLDatabase) {
        self.database = database
    }

    /// The embedded store: one SQLite file in WAL mode.
    public static func sqlite(path: String) throws -> SQLStore {
        SQLStore(try SQLiteDatabase(path: path))
    }

    /// The scale-out store; see ``PostgresDatabase``.
    public static func postgres(url: String, schema: String, timeout: Duration = .seconds(10), logger: Logger) throws -> SQLStore {
        SQLStore(try PostgresDatabase(url: url, schema: schema, timeout: timeout, logger: logger))
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await database.close()
    }

    /// Closes the database at once (a gateway that failed to start).
    public func close() async {
        await database.close()
    }

    public func migrate() async throws {
        try await database.migrate(StoreSchema.migrations(dialect))
    }

    /// One transaction: the calls, their properties, bodies and deliveries, and their analytics
    /// merged into the stored rows (``SQLStore/analyticsMerge(_:own:backlog:)``).
    ///
    /// With `moreWaiting` (the recorder has more calls queued), the batch's analytics may be left
    /// for a later batch's transaction: the batch then adds a row to `analytics_pending` naming
    /// its calls, and its rollup waits in ``AnalyticsBacklog``, at most a second. The next batch
    /// written without `moreWaiting`, or the first after that second, merges them all with its
    /// own; the recorder merges what waits as soon as it runs out of calls (``mergeAnalytics()``). Under load that is one merge a second instead of one a batch; with nothing waiting,
    /// a batch's analytics are in its own transaction, as its calls are.
    ///
    /// Rows already stored are left as they are (`ON CONFLICT DO NOTHING`), and their calls are
    /// not counted again in the analytics: a batch is written again when its commit went through
    /// but the answer was lost (a connection that dropped at COMMIT), and must count once. A
    /// pending row is counted by whoever deletes it, once.
    public func insert(_ batch: [StoredExchange], moreWaiting: Bool) async throws {
        try await insert(batch, moreWaiting: moreWaiting, analytics: true)
    }

    /// `analytics: false` leaves the analytics rows alone: only for benchmarks/AnalyticsLoad, to
    /// measure what keeping them costs the recorder.
    public func insert(_ batch: [StoredExchange], moreWaiting: Bool, analytics keepAnalytics: Bool) async throws {
        guard !batch.isEmpty else { return }
        let rows = StoreSQL.insert(batch, now: Date(), dialect)
        let records = batch.map(\.record)
        let stored = SQLStatement(StoreSQL.storedRecords(count: records.count), records.map { .id($0.id) })
        guard keepAnalytics else {
            _ = try await database.transaction(reading: []) { _ in rows + StoreSQL.unpricedCounts(records) }
            return
        }
        let pendingID = records[0].id.uuidString.lowercased()
        if moreWaiting, backlog.withLock({ $0.accepts(at: .now) }) {
            try await insertLeavingAnalytics(rows, records, pendingID: pendingID, stored: stored)
            return
        }
        // A copy, shared with the store's until this merge is done (a write while it is held would copy it).
        let backlog = self.backlog.withLock { $0 }
        do {
            try await insertMerging(rows, records, pendingID: pendingID, stored: stored, backlog: backlog)
        } catch is BacklogTaken {
            // Another gateway merged some of the backlog's batches (it adopted them as a stopped
            // gateway's): the rest stay pending in the store, for the next look at pending batches.
            self.backlog.withLock { $0.clear() }
            try await insertMerging(rows, records, pendingID: pendingID, stored: stored, backlog: AnalyticsBacklog())
        }
    }

    /// Writes the batch and merges its analytics, and the backlog's, in one transaction.
    /// With no batch (`stored` nil), merges the backlog alone.
    func insertMerging(_ rows: [SQLStatement], _ records: [RequestRecord], pendingID: String?, stored: SQLStatement?, backlog: AnalyticsBacklog) async throws {
        let merge = analyticsMerge(records, own: pendingID, backlog: backlog)
        let first = stored.map { [$0] } ?? []
        _ = try await database.transaction(reading: first + merge.reading) { read in
            let already = Set((first.isEmpty ? [] : read[0]).compactMap { $0.text("id").flatMap(UUID.init(uuidString:)) })
            return try rows + StoreSQL.unpricedCounts(records.lazy.filter { !already.contains($0.id) }) + merge.then(Array(read.dropFirst(first.count)), already)
        }
        if !backlog.isEmpty { self.backlog.withLock { $0.clear() } }
    }

    /// Merges the analytics of the batches written with `moreWaiting` that wait in memory: the
    /// recorder calls it when it runs out of calls to write.
    public func mergeAnalytics() async throws {
        let backlog = self.backlog.withLock { $0 }
        guard !backlog.isEmpty else { return }
        do {
            try await insertMerging([], [], pendingID: nil, stored: nil, backlog: backlog)
        } catch is BacklogTaken {
            self.backlog.withLock { $0.clear() }
        }
    }

    /// Writes the batch and its `analytics_pending` row, and keeps its rollup in the backlog. A
    /// batch written again (its first commit's answer lost) finds its pending row and keeps the
    /// calls the row names; one whose first write merged its analytics finds its calls stored and
    /// no row, and leaves them out.
    func insertLeavingAnalytics(_ rows: [SQLStatement], _ records: [RequestRecord], pendingID: String, stored: SQLStatement) async throws {
        let written = try await database.transaction(reading: [stored, AnalyticsSQL.pending(id: pendingID)]) { read in
            if !read[1].isEmpty { return rows + [AnalyticsSQL.pending(id: pendingID)] }
            let already = Set(read[0].compactMap { $0.text("id").flatMap(UUID.init(uuidString:)) })
            let fresh = records.filter { !already.contains($0.id) }
            return fresh.isEmpty ? rows : rows + StoreSQL.unpricedCounts(fresh) + [AnalyticsSQL.insertPending(id: pendingID, calls: fresh.map(\.id), at: Date())]
        }
        guard let ids = written.last?.first?.text("ids") else { return }
        let pending = AnalyticsSQL.callIDs(ids)
        let rollup = AnalyticsRollup.rollup(records.lazy.filter { pending.contains($0.id) })
        backlog.withLock { $0.add(pendingID, rollup, at: .now) }
    }

    /// Merges the analytics of pending batches written before `cutoff` that this store does not
    /// hold in memory: those of a gateway that stopped before merging them (killed, or its
    /// database gone). Their calls are read back from the store. Returns how many batches it
    /// merged; a batch another gateway merges first is left to it.
    public func mergePendingAnalytics(writtenBefore cutoff: Date) async throws -> Int {
        let held = backlog.withLock { $0.ids }
        var merged = 0
        for row in try await database.read(AnalyticsSQL.pendingBefore(cutoff, limit: 100)) {
            guard let id = row.text("id"), !held.contains(id) else { continue }
            let ids = Array(AnalyticsSQL.callIDs(row.text("ids")))
            let calls = ids.isEmpty ? [] : try await database.read(SQLStatement(StoreSQL.recordsByIDs(count: ids.count), ids.map(SQLArgument.id)))
            // Merged as a batch written again whose first write left it pending: its calls are
            // stored, and counted if this merge is the one that claims the row.
            let records = try calls.map(RequestRecord.init(row:))
            let merge = analyticsMerge(records, own: id, backlog: AnalyticsBacklog())
            _ = try await database.transaction(reading: merge.reading) { read in try merge.then(read, Set(records.map(\.id))) }
            merged += 1
        }
        return merged
    }

    public func record(id: UUID) async throws -> RequestRecord? {
        try await database.read(StoreSQL.recordByID, [.id(id)]).first.map(RequestRecord.init(row:))
    }

    public func contains(id: UUID) async throws -> Bool {
        try await !database.read(StoreSQL.recordExists, [.id(id)]).isEmpty
    }

    public func records(matching query: RecordQuery) async throws -> RecordPage {
        let limit = max(1, min(query.limit, 1000))
        let rows = try await database.read(StoreSQL.records(SQLFilter(query), limit: limit))
        let records = try rows.prefix(limit).map(RequestRecord.init(row:))
        var next: RecordCursor?
        if rows.count > limit, let last = records.last {
            next = RecordCursor(createdAtMicros: StoredTime.micros(last.createdAt), id: last.id.uuidString.lowercased())
        }
        return RecordPage(records: records, nextCursor: next)
    }

    public func unpricedModels(project: String?) async throws -> [UnpricedModel] {
        try await database.read(StoreSQL.unpricedModels(project: project != nil), project.map { [.text($0)] } ?? []).map { row in
            UnpricedModel(
                model: row.text("model").flatMap { $0.isEmpty ? nil : $0 }, provider: try row.required("provider", SQLRow.text), calls: row.int("calls") ?? 0,
                lastSeen: try row.required("last_seen", SQLRow.date)
            )
        }
    }

    public func bodies(id: UUID) async throws -> StoredBodies? {
        try await database.read(StoreSQL.bodiesByID, [.id(id)]).first.map { try BodiesRow(row: $0).bodies }
    }

    public func setScores(_ scores: [Score], requestID: UUID) async throws {
        let now = Date()
        // One statement per score: PostgreSQL refuses one upsert that touches a row twice.
        try await database.write(scores.map { SQLStatement(ScoreRow.upsert.single, ScoreRow(requestID: requestID, score: $0, updatedAt: now).arguments) })
    }

    public func scores(requestIDs: [UUID]) async throws -> [UUID: [Score]] {
        guard !requestIDs.isEmpty else { return [:] }
        var out: [UUID: [Score]] = [:]
        for row in try await database.read(StoreSQL.scores(count: requestIDs.count), requestIDs.map(SQLArgument.id)) {
            let score = try ScoreRow(row: row)
            out[score.requestID, default: []].append(score.score)
        }
        return out
    }

    public func deleteRecords(before cutoff: Date, limit: Int) async throws -> Int {
        try await deleteOldest(StoreSQL.oldRecords, before: cutoff, limit: limit, from: StoreSQL.recordTables)
    }

    public func deleteDeliveryLogs(before cutoff: Date, limit: Int) async throws -> Int {
        try await deleteOldest(StoreSQL.oldDeliveries, before: cutoff, limit: limit, from: StoreSQL.deliveryLogTables)
    }

    /// Deletes the ids `select` finds from each (table, id column), in one transaction; returns how many.
    func deleteOldest(_ select: String, before cutoff: Date, limit: Int, from tables: [(String, String)]) async throws -> Int {
        let found = try await database.transaction(reading: [SQLStatement(select, [.time(cutoff), .int(limit)])]) { read in
            let ids = read[0].map { SQLArgument.text($0.text("id")) }
            guard !ids.isEmpty else { return [] }
            // The last statement returns the ids it deleted, to count them.
            return tables.enumerated().map { index, table in
                let returning = index == tables.count - 1 ? " RETURNING \(table.1)" : ""
                return SQLStatement(StoreSQL.deleteIn(table.0, table.1, count: ids.count) + returning, ids)
            }
        }
        return found.last?.count ?? 0
    }
}

extension SQLStore {
    public func createWebhook(_ webhook: Webhook) async throws {
        try await database.write([SQLStatement(StoreSQL.insertWebhook, webhook.arguments)])
    }

    public func updateWebhook(_ webhook: Webhook) async throws {
        try await database.write([SQLStatement(StoreSQL.updateWebhook, Webhook.table.updateArguments(webhook.arguments, key: "id"))])
    }

    public func deleteWebhook(id: UUID) async throws -> Bool {
        try await !(database.write(StoreSQL.deleteWebhook.map { SQLStatement($0, [.id(id)]) }).last ?? []).isEmpty
    }

    public func webhook(id: UUID) async throws -> Webhook? {
        try await database.read(StoreSQL.webhookByID, [.id(id)]).first.map(Webhook.init(row:))
    }

    public func webhooks(project: String?) async throws -> [Webhook] {
        let query = project.map { SQLStatement(StoreSQL.webhooksOfProject, [.text($0)]) } ?? SQLStatement(StoreSQL.allWebhooks)
        return try await database.read(query).map(Webhook.init(row:))
    }

    public func enqueue(_ deliveries: [Delivery]) async throws {
        try await database.write(StoreSQL.deliveryInsert.statements(deliveries.map { DeliveryRow($0).arguments }, dialect))
    }

    public func claimDueDeliveries(now: Date, leaseUntil: Date, limit: Int) async throws -> [ClaimedDelivery] {
        let claim = SQLStatement(StoreSQL.claimDue(dialect), [.time(leaseUntil), .time(now), .time(now), .int(limit)])
        return try (await database.write([claim]).first ?? []).map { ClaimedDelivery(delivery: try DeliveryRow(row: $0).delivery, leaseUntil: leaseUntil) }
    }

    /// A batch of attempts in one transaction, in a few statements on PostgreSQL whatever its
    /// size: the attempt rows, the deliveries' new states, the webhooks' failing runs
    /// (``FailingRuns``) and those the batch disables.
    public func complete(_ outcomes: [(Delivery, AttemptResult)]) async throws {
        guard !outcomes.isEmpty else { return }
        var statements = StoreSQL.attemptInsert.statements(outcomes.map { $0.1.attempt.arguments }, dialect)
        statements += StoreSQL.finishAttempt.statements(outcomes.map(StoreSQL.finishArguments), dialect)
        for (webhookID, change) in FailingRuns.changes(outcomes.map { ($0.0.webhookID, $0.1) }) {
            switch change {
            case .clear: statements.append(SQLStatement(StoreSQL.clearFailing, [.id(webhookID)]))
            case .start(let since): statements.append(SQLStatement(StoreSQL.startFailing, [.time(since), .id(webhookID)]))
            case .restart(let since): statements.append(SQLStatement(StoreSQL.setFailing, [.time(since), .id(webhookID)]))
            }
        }
        let now = Date()
        for (delivery, result) in outcomes {
            if let reason = result.disableReason {
                statements.append(SQLStatement(StoreSQL.disableWebhook, [.bool(false), .text(reason), .time(now), .id(delivery.webhookID)]))
            }
        }
        try await database.write(statements)
    }

    public func releaseLeases(_ ids: [UUID]) async throws {
        guard !ids.isEmpty else { return }
        try await database.write([SQLStatement(StoreSQL.releaseLeases(count: ids.count), ids.map(SQLArgument.id))])
    }

    public func delivery(id: UUID) async throws -> Delivery? {
        try await database.read(StoreSQL.deliveryByID, [.id(id)]).first.map { try DeliveryRow(row: $0).delivery }
    }

    public func deliveries(webhookID: UUID, limit: Int, before: Date?) async throws -> [Delivery] {
        try await database.read(StoreSQL.deliveriesOfWebhook, [.id(webhookID), .integer(before.map(StoredTime.micros) ?? Int64.max), .int(limit)])
            .map { try DeliveryRow(row: $0).delivery }
    }

    public func attempts(deliveryID: UUID) async throws -> [DeliveryAttempt] {
        try await database.read(StoreSQL.attemptsOfDelivery, [.id(deliveryID)]).map(DeliveryAttempt.init(row:))
    }

    public func resend(deliveryIDs: [UUID]) async throws -> Int {
        let now = Date()
        return try await database.write(deliveryIDs.map { SQLStatement(StoreSQL.resendOne, [.time(now), .id($0)]) }).reduce(0) { $0 + $1.count }
    }

    public func resend(webhookID: UUID, since: Date) async throws -> Int {
        try await database.write([SQLStatement(StoreSQL.resendSince, [.time(Date()), .id(webhookID), .time(since)])]).first?.count ?? 0
    }

    public func pendingSummary() async throws -> (count: Int, oldest: Date?) {
        let row = try await database.read(StoreSQL.pendingSummary).first
        return (row?.int("n") ?? 0, row?.date("oldest"))
    }

    public func nextDueTime() async throws -> Date? {
        try await database.read(StoreSQL.nextDue).first?.date("due")
    }
}

/// How a batch of attempt outcomes moves each webhook's failing run (`failing_since`, which
/// auto-disabling reads): the same as applying them one by one, in order. A success ends the
/// run; the first failure after it starts a new one; a failure while a run is on leaves its
/// start as it was.
enum FailingRuns {
    enum Change: Equatable {
        /// The last outcome succeeded: no run.
        case clear
        /// Only failures: a run starts at this time unless one is already on.
        case start(Date)
        /// A success then failures: a new run started at this time, whatever was stored.
        case restart(Date)
    }

    /// One change per webhook with outcomes in the batch, in the order each first appears.
    static func changes(_ outcomes: [(webhookID: UUID, result: AttemptResult)]) -> [(UUID, Change)] {
        var order: [UUID] = []
        var state: [UUID: Change] = [:]
        for (webhookID, result) in outcomes {
            if state[webhookID] == nil { order.append(webhookID) }
            if result.webhookSucceeded {
                state[webhookID] = .clear
                continue
            }
            let at = result.attempt.startedAt
            switch state[webhookID] {
            case nil: state[webhookID] = .start(at)
            case .clear?: state[webhookID] = .restart(at)
            case .start?, .restart?: break
            }
        }
        return order.map { ($0, state[$0]!) }
    }
}

import Foundation
import TollgateCore

/// Runs ``AnalyticsSQL``'s statements: the rows a batch adds to, merged in the batch's own
/// transaction, and the reads the stats API and the dashboard answer from.
extension SQLStore {
    typealias Rollup = [AnalyticsKey: AnalyticsFigures]

    /// Thrown inside a merge's transaction (so it rolls back) when a pending batch of the backlog
    /// was merged by another gateway first: the backlog's rollup can no longer be added whole.
    struct BacklogTaken: Refusal {}

    /// What a merge reads (the rows its groups already hold, and how many values each group has,
    /// for the cap) and, from what was read, the upserts that add to them: the calls of `records`
    /// whose ids are not in `stored` (already counted), and the pending batches this merge claims
    /// (takes off `analytics_pending`): the backlog's, with their rollup, and the batch's own
    /// pending row `own` (written by an earlier attempt of this batch whose answer was lost), whose
    /// calls are counted even though stored. When a backlog batch was claimed by another merge
    /// first, it throws ``BacklogTaken``.
    func analyticsMerge(_ records: [RequestRecord], own: String?, backlog: AnalyticsBacklog) -> (reading: [SQLStatement], then: @Sendable ([[SQLRow]], _ stored: Set<UUID>) throws -> [SQLStatement]) {
        var combined = backlog.rollup
        AnalyticsRollup.add(AnalyticsRollup.rollup(records), to: &combined)
        // The batch's own pending row is in the backlog when this is a retry of a write that
        // left it pending: then the backlog's rollup is what it adds.
        let own = own.flatMap { backlog.ids.contains($0) ? nil : $0 }
        let claims = Array(backlog.ids) + (own.map { [$0] } ?? [])
        let claim = claims.isEmpty ? [] : [AnalyticsSQL.claimPending(claims)]
        guard !combined.isEmpty else { return (claim, { _, _ in [] }) }
        let groups = AnalyticsSQL.touchedGroups(combined)
        let lock = dialect.serializedMerge.map { [$0] } ?? []
        let touched = AnalyticsSQL.touchedRows(groups)
        let counts = AnalyticsSQL.valueCounts(groups)
        let dialect = self.dialect
        return (lock + claim + touched + counts, { [combined] read, already in
            // Each claimed row's call ids, as text: only the batch's own are read.
            var claimed: [String: String] = [:]
            for row in claim.isEmpty ? [] : read[lock.count] {
                if let id = row.text("id") { claimed[id] = row.text("ids") ?? "" }
            }
            guard backlog.ids.allSatisfy({ claimed[$0] != nil }) else { throw BacklogTaken() }
            // Rows were read for everything this merge might add: a superset of what it adds.
            var batch = combined
            if !already.isEmpty {
                let ownCalls = AnalyticsSQL.callIDs(own.flatMap { claimed[$0] })
                batch = backlog.rollup
                AnalyticsRollup.add(AnalyticsRollup.rollup(records.lazy.filter { !already.contains($0.id) || ownCalls.contains($0.id) }), to: &batch)
            }
            let readRows = lock.count + claim.count
            var stored = AnalyticsRollup.Stored()
            for rows in read[readRows..<readRows + touched.count] {
                for row in rows { stored.rows[try Self.analyticsKey(row)] = Self.figures(row) }
            }
            for rows in read[(readRows + touched.count)...] {
                for row in rows {
                    guard let index = row.int("g"), groups.indices.contains(index) else { continue }
                    stored.valueCounts[groups[index].group] = row.int("n") ?? 0
                }
            }
            let upserts = AnalyticsRollup.merge(batch, into: stored).map { AnalyticsSQL.arguments($0.0, $0.1) }
            return AnalyticsSQL.upsert.statements(upserts, dialect)
        })
    }

    static func analyticsKey(_ row: SQLRow) throws -> AnalyticsKey {
        AnalyticsKey(
            group: AnalyticsGroup(
                resolution: AnalyticsResolution(rawValue: row.int64("resolution") ?? 0) ?? .minute, bucket: row.int64("bucket") ?? 0,
                project: try row.required("project", SQLRow.text), dimension: try row.required("dimension", SQLRow.text)
            ),
            value: row.text("value") ?? ""
        )
    }

    static func figures(_ row: SQLRow) -> AnalyticsFigures {
        AnalyticsSQL.figures(
            calls: row.int64("calls") ?? 0, errors: row.int64("errors") ?? 0, promptTokens: row.int64("prompt_tokens") ?? 0,
            completionTokens: row.int64("completion_tokens") ?? 0, totalTokens: row.int64("total_tokens") ?? 0,
            costUSD: row.double("cost_usd") ?? 0, unpriced: row.int64("unpriced") ?? 0, cacheHits: row.int64("cache_hits") ?? 0,
            latency: row.text("latency") ?? "", ttft: row.text("ttft") ?? "", overhead: row.text("overhead") ?? "",
            tokensPerSecond: row.text("tokens_per_second") ?? ""
        )
    }

    public func analyticsRows(dimension: String, values: [String]?, project: String?, pieces: [AnalyticsRange.Piece]) async throws -> [AnalyticsAnswer.Row] {
        guard let statement = AnalyticsSQL.select(dimension: dimension, values: values, project: project, pieces: pieces) else { return [] }
        return try await database.read(statement).map { row in
            AnalyticsAnswer.Row(
                resolution: AnalyticsResolution(rawValue: row.int64("resolution") ?? 0) ?? .minute, bucket: row.int64("bucket") ?? 0,
                value: row.text("value") ?? "", figures: Self.figures(row)
            )
        }
    }

    public func propertyNames(project: String?, start: Int64, end: Int64) async throws -> [String] {
        try await database.read(AnalyticsSQL.propertyNames(project: project, start: start, end: end)).compactMap { $0.text("dimension") }
    }

    public func scan(_ query: RecordQuery, into scan: AnalyticsScan) async throws -> AnalyticsScan? {
        let filter = SQLFilter(query)
        let statement = SQLStatement("SELECT * FROM requests r WHERE \(filter.sql) LIMIT \(AnalyticsScan.limit + 1)", filter.arguments)
        let folded: AnalyticsScan? = try await database.fold(statement, into: scan) { scan, row in
            guard var current = scan else { return false }
            current.add(try RequestRecord(row: row))
            scan = current.calls > AnalyticsScan.limit ? nil : current
            return scan != nil
        }
        return folded
    }

    public func deleteAnalytics(_ resolution: AnalyticsResolution, before: Int64, limit: Int) async throws -> Int {
        try await database.write([SQLStatement(AnalyticsSQL.sweep + " RETURNING resolution", [.integer(resolution.rawValue), .integer(before), .int(limit)])]).first?.count ?? 0
    }
}

import Foundation
import GRDB
import TollgateCore

/// Runs ``AnalyticsSQL``'s statements on SQLite (one writer at a time: no lock needed).
extension SQLiteRecordStore {
    /// Adds a batch's calls to the analytics rows, inside the batch's write transaction.
    static func writeAnalytics(_ db: Database, _ records: [RequestRecord]) throws {
        let batch = AnalyticsRollup.rollup(records)
        guard !batch.isEmpty else { return }
        let groups = AnalyticsSQL.touchedGroups(batch)
        var stored = AnalyticsRollup.Stored()
        for statement in AnalyticsSQL.touchedRows(groups) {
            for row in try Row.fetchAll(db, sql: statement.sql, arguments: StatementArguments(statement.arguments)) {
                stored.rows[key(row)] = figures(row)
            }
        }
        for statement in AnalyticsSQL.valueCounts(groups) {
            for row in try Row.fetchAll(db, sql: statement.sql, arguments: StatementArguments(statement.arguments)) {
                stored.valueCounts[groups[row["g"] as Int].group] = row["n"]
            }
        }
        let upsert = try db.cachedStatement(sql: AnalyticsSQL.upsert.single)
        for (key, figures) in AnalyticsRollup.merge(batch, into: stored) {
            try upsert.execute(arguments: StatementArguments(AnalyticsSQL.arguments(key, figures)))
        }
    }

    static func key(_ row: Row) -> AnalyticsKey {
        AnalyticsKey(
            group: AnalyticsGroup(resolution: AnalyticsResolution(rawValue: row["resolution"]) ?? .minute, bucket: row["bucket"],
                                  project: row["project"], dimension: row["dimension"]),
            value: row["value"]
        )
    }

    static func figures(_ row: Row) -> AnalyticsFigures {
        AnalyticsSQL.figures(
            calls: row["calls"], errors: row["errors"], promptTokens: row["prompt_tokens"], completionTokens: row["completion_tokens"],
            totalTokens: row["total_tokens"], costUSD: row["cost_usd"], unpriced: row["unpriced"], cacheHits: row["cache_hits"],
            latency: row["latency"], ttft: row["ttft"], overhead: row["overhead"], tokensPerSecond: row["tokens_per_second"]
        )
    }

    public func analyticsRows(dimension: String, values: [String]?, project: String?, pieces: [AnalyticsRange.Piece]) async throws -> [AnalyticsAnswer.Row] {
        guard let statement = AnalyticsSQL.select(dimension: dimension, values: values, project: project, pieces: pieces) else { return [] }
        return try await pool.read { db in
            try Row.fetchAll(db, sql: statement.sql, arguments: StatementArguments(statement.arguments)).map { row in
                AnalyticsAnswer.Row(resolution: AnalyticsResolution(rawValue: row["resolution"]) ?? .minute, bucket: row["bucket"],
                                    value: row["value"], figures: Self.figures(row))
            }
        }
    }

    public func propertyNames(project: String?, start: Int64, end: Int64) async throws -> [String] {
        let statement = AnalyticsSQL.propertyNames(project: project, start: start, end: end)
        return try await pool.read { db in try String.fetchAll(db, sql: statement.sql, arguments: StatementArguments(statement.arguments)) }
    }

    public func scan(_ query: RecordQuery, into scan: AnalyticsScan) async throws -> AnalyticsScan? {
        let filter = SQLFilter(query)
        return try await pool.read { db in
            var scan = scan
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM requests r WHERE \(filter.sql) LIMIT \(AnalyticsScan.limit + 1)",
                                             arguments: StatementArguments(filter.arguments))
            while let row = try cursor.next() {
                scan.add(Self.record(from: row))
                if scan.calls > AnalyticsScan.limit { return nil }
            }
            return scan
        }
    }

    public func deleteAnalytics(_ resolution: AnalyticsResolution, before: Int64, limit: Int) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: AnalyticsSQL.sweep, arguments: [resolution.rawValue, before, limit])
            return db.changesCount
        }
    }
}

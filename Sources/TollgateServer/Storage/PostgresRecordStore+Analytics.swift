import Foundation
import Logging
import PostgresNIO
import TollgateCore

/// Runs ``AnalyticsSQL``'s statements on PostgreSQL.
extension PostgresRecordStore {
    /// Adds a batch's calls to the analytics rows, inside the batch's transaction. The advisory
    /// lock makes gateways sharing the database read, merge and write one after the other.
    static func writeAnalytics(_ connection: PostgresConnection, _ records: [RequestRecord], logger: Logger) async throws {
        let batch = AnalyticsRollup.rollup(records)
        guard !batch.isEmpty else { return }
        let groups = AnalyticsSQL.touchedGroups(batch)
        try await connection.run(AnalyticsSQL.postgresLock, logger: logger)
        var stored = AnalyticsRollup.Stored()
        for statement in AnalyticsSQL.touchedRows(groups) {
            for row in try await connection.run(statement.sql, statement.arguments, logger: logger) {
                stored.rows[try key(row)] = try figures(row)
            }
        }
        for statement in AnalyticsSQL.valueCounts(groups) {
            for row in try await connection.run(statement.sql, statement.arguments, logger: logger) {
                stored.valueCounts[groups[Int(try row.value("g", as: Int64.self))].group] = Int(try row.value("n", as: Int64.self))
            }
        }
        let rows = AnalyticsRollup.merge(batch, into: stored).map { AnalyticsSQL.arguments($0.0, $0.1) }
        for chunk in chunks(rows.count, width: AnalyticsSQL.upsert.width) {
            try await connection.run(AnalyticsSQL.upsert.rows(chunk.count), rows[chunk].flatMap { $0 }, logger: logger)
        }
    }

    static func key(_ row: PostgresRandomAccessRow) throws -> AnalyticsKey {
        AnalyticsKey(
            group: AnalyticsGroup(resolution: AnalyticsResolution(rawValue: try row.value("resolution", as: Int64.self)) ?? .minute,
                                  bucket: try row.value("bucket"), project: try row.value("project"), dimension: try row.value("dimension")),
            value: try row.value("value")
        )
    }

    static func figures(_ row: PostgresRandomAccessRow) throws -> AnalyticsFigures {
        AnalyticsSQL.figures(
            calls: try row.value("calls"), errors: try row.value("errors"), promptTokens: try row.value("prompt_tokens"),
            completionTokens: try row.value("completion_tokens"), totalTokens: try row.value("total_tokens"), costUSD: try row.value("cost_usd"),
            unpriced: try row.value("unpriced"), cacheHits: try row.value("cache_hits"), latency: try row.value("latency"),
            ttft: try row.value("ttft"), overhead: try row.value("overhead"), tokensPerSecond: try row.value("tokens_per_second")
        )
    }

    public func analyticsRows(dimension: String, values: [String]?, project: String?, pieces: [AnalyticsRange.Piece]) async throws -> [AnalyticsAnswer.Row] {
        guard let statement = AnalyticsSQL.select(dimension: dimension, values: values, project: project, pieces: pieces) else { return [] }
        return try await run(statement.sql, statement.arguments).map { row in
            AnalyticsAnswer.Row(resolution: AnalyticsResolution(rawValue: try row.value("resolution", as: Int64.self)) ?? .minute,
                                bucket: try row.value("bucket"), value: try row.value("value"), figures: try Self.figures(row))
        }
    }

    public func propertyNames(project: String?, start: Int64, end: Int64) async throws -> [String] {
        let statement = AnalyticsSQL.propertyNames(project: project, start: start, end: end)
        return try await run(statement.sql, statement.arguments).map { try $0.value("dimension", as: String.self) }
    }

    public func scan(_ query: RecordQuery, into scan: AnalyticsScan) async throws -> AnalyticsScan? {
        let filter = SQLFilter(query)
        let (client, logger) = (self.client, self.logger)
        let statement = Self.query("SELECT * FROM requests r WHERE \(filter.sql) LIMIT \(AnalyticsScan.limit + 1)", filter.arguments)
        return try await bounded {
            var scan = scan
            for try await row in try await client.query(statement, logger: logger) {
                scan.add(try Self.record(from: row.makeRandomAccess()))
                if scan.calls > AnalyticsScan.limit { return nil }
            }
            return scan
        }
    }

    public func deleteAnalytics(_ resolution: AnalyticsResolution, before: Int64, limit: Int) async throws -> Int {
        // RETURNING counts the rows (the row count is not exposed by `run`).
        try await run(AnalyticsSQL.sweep + " RETURNING 1 AS one", [.integer(resolution.rawValue), .integer(before), .integer(Int64(limit))]).count
    }
}

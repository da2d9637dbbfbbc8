import Foundation
import TollgateCore

/// The statements that keep and read analytics (table `analytics`, migration v6), with `?`
/// placeholders, the same text for SQLite and PostgreSQL. The stores only run them:
///
/// - writing, in a batch's transaction: ``touchedRows(_:)`` and ``valueCounts(_:)`` read what
///   the batch's groups hold, ``AnalyticsRollup/merge(_:into:)`` decides the rows, ``upsert``
///   writes them. On PostgreSQL ``SQLDialect/serializedMerge`` comes first, so that gateways
///   sharing the database merge one after the other and neither's counts are lost.
/// - reading: ``select(dimension:values:project:pieces:)`` for the rows of an answer.
/// - retention: ``sweep``.
enum AnalyticsSQL {
    typealias Statement = SQLStatement

    static let figureColumns = "calls, errors, prompt_tokens, completion_tokens, total_tokens, cost_usd, unpriced, cache_hits, latency, ttft, overhead, tokens_per_second"
    static let keyColumns = "resolution, dimension, bucket, project, value"

    /// Inserts a row or replaces its figures with the merged ones.
    static let upsert = SQLTable("analytics", (keyColumns + ", " + figureColumns).components(separatedBy: ", ")).insert(conflict: """
             ON CONFLICT (\(keyColumns)) DO UPDATE SET calls = excluded.calls, errors = excluded.errors,
            prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens,
            total_tokens = excluded.total_tokens, cost_usd = excluded.cost_usd, unpriced = excluded.unpriced,
            cache_hits = excluded.cache_hits, latency = excluded.latency, ttft = excluded.ttft,
            overhead = excluded.overhead, tokens_per_second = excluded.tokens_per_second
            """)

    static func arguments(_ key: AnalyticsKey, _ f: AnalyticsFigures) -> [SQLArgument] {
        [
            .integer(key.group.resolution.rawValue), .text(key.group.dimension), .integer(key.group.bucket), .text(key.group.project),
            .text(key.value), .integer(f.calls), .integer(f.errors), .integer(f.promptTokens), .integer(f.completionTokens),
            .integer(f.totalTokens), .real(f.costUSD), .integer(f.unpriced), .integer(f.cacheHits), .text(f.latency.encoded),
            .text(f.timeToFirstToken.encoded), .text(f.overhead.encoded), .text(f.outputTokensPerSecond.encoded),
        ]
    }

    /// A row's figures from its columns.
    static func figures(
        calls: Int64, errors: Int64, promptTokens: Int64, completionTokens: Int64, totalTokens: Int64, costUSD: Double,
        unpriced: Int64, cacheHits: Int64, latency: String, ttft: String, overhead: String, tokensPerSecond: String
    ) -> AnalyticsFigures {
        var f = AnalyticsFigures()
        f.calls = calls
        f.errors = errors
        f.promptTokens = promptTokens
        f.completionTokens = completionTokens
        f.totalTokens = totalTokens
        f.costUSD = costUSD
        f.unpriced = unpriced
        f.cacheHits = cacheHits
        f.latency = LogHistogram(encoded: latency) ?? LogHistogram()
        f.timeToFirstToken = LogHistogram(encoded: ttft) ?? LogHistogram()
        f.overhead = LogHistogram(encoded: overhead) ?? LogHistogram()
        f.outputTokensPerSecond = LogHistogram(encoded: tokensPerSecond) ?? LogHistogram()
        return f
    }

    /// The groups a batch's rows fall in, each with its values (and its other value), in key order.
    static func touchedGroups(_ batch: [AnalyticsKey: AnalyticsFigures]) -> [(group: AnalyticsGroup, values: [String])] {
        var values: [AnalyticsGroup: Set<String>] = [:]
        for key in batch.keys { values[key.group, default: [AnalyticsDimension.otherValue]].insert(key.value) }
        return values.keys.sorted().map { ($0, values[$0]!.sorted()) }
    }

    /// Statements of at most about this many arguments (PostgreSQL binds at most 65,535) and
    /// `SELECT`s (SQLite joins at most 500 by default).
    static let maxArguments = 20_000
    static let maxSelects = 400

    /// The stored rows among `groups`' values: `SELECT … UNION ALL SELECT …`, a few statements per batch.
    static func touchedRows(_ groups: [(group: AnalyticsGroup, values: [String])]) -> [Statement] {
        chunked(groups) { item in
            ("SELECT \(keyColumns), \(figureColumns) FROM analytics WHERE resolution = ? AND dimension = ? AND bucket = ? AND project = ? AND value IN (\(StoreSQL.placeholders(item.values.count)))",
             groupArguments(item.group) + item.values.map { .text($0) })
        }
    }

    /// How many values each group has rows for (its other row aside); column `g` is the group's
    /// index in `groups`, `n` the count.
    static func valueCounts(_ groups: [(group: AnalyticsGroup, values: [String])]) -> [Statement] {
        chunked(Array(groups.enumerated())) { index, item in
            ("SELECT CAST(? AS BIGINT) AS g, COUNT(*) AS n FROM analytics WHERE resolution = ? AND dimension = ? AND bucket = ? AND project = ? AND value <> ?",
             [.integer(Int64(index))] + groupArguments(item.group) + [.text(AnalyticsDimension.otherValue)])
        }
    }

    /// A batch written with its analytics left for later (``SQLStore/insert(_:moreWaiting:)``):
    /// its id and the ids of the calls it stored, comma-separated; answers the ids.
    static func insertPending(id: String, calls: [UUID], at now: Date) -> Statement {
        Statement(
            "INSERT INTO analytics_pending (id, created_at, ids) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING ids",
            [.text(id), .integer(StoredTime.micros(now)), .text(calls.map { $0.uuidString.lowercased() }.joined(separator: ","))]
        )
    }

    /// One pending batch's call ids, if it is still pending.
    static func pending(id: String) -> Statement {
        Statement("SELECT ids FROM analytics_pending WHERE id = ?", [.text(id)])
    }

    /// Takes pending batches off the list, answering those that were still on it (`id`, `ids`):
    /// whoever deletes a pending row counts its calls, once.
    static func claimPending(_ ids: [String]) -> Statement {
        Statement("DELETE FROM analytics_pending WHERE id IN (\(StoreSQL.placeholders(ids.count))) RETURNING id, ids", ids.map { .text($0) })
    }

    /// Pending batches written before `before`, oldest first.
    static func pendingBefore(_ before: Date, limit: Int) -> Statement {
        Statement("SELECT id, ids FROM analytics_pending WHERE created_at < ? ORDER BY created_at LIMIT ?", [.integer(StoredTime.micros(before)), .int(limit)])
    }

    /// The call ids of a pending row's `ids`.
    static func callIDs(_ text: String?) -> Set<UUID> {
        Set((text ?? "").split(separator: ",").compactMap { UUID(uuidString: String($0)) })
    }

    static func groupArguments(_ group: AnalyticsGroup) -> [SQLArgument] {
        [.integer(group.resolution.rawValue), .text(group.dimension), .integer(group.bucket), .text(group.project)]
    }

    /// Joins one `SELECT` per item with `UNION ALL`, in statements of at most ``maxArguments`` arguments.
    static func chunked<T>(_ items: [T], _ select: (T) -> (String, [SQLArgument])) -> [Statement] {
        var out: [Statement] = []
        var parts: [String] = [], arguments: [SQLArgument] = []
        for item in items {
            let (sql, args) = select(item)
            if !parts.isEmpty, arguments.count + args.count > maxArguments || parts.count >= maxSelects {
                out.append(Statement(parts.joined(separator: " UNION ALL "), arguments))
                parts = []
                arguments = []
            }
            parts.append(sql)
            arguments += args
        }
        if !parts.isEmpty { out.append(Statement(parts.joined(separator: " UNION ALL "), arguments)) }
        return out
    }

    /// The rows of one dimension over `pieces`, in one project or all, restricted to `values`
    /// when given: one range of the key per piece.
    static func select(dimension: String, values: [String]?, project: String?, pieces: [AnalyticsRange.Piece]) -> Statement? {
        guard !pieces.isEmpty else { return nil }
        var parts: [String] = [], arguments: [SQLArgument] = []
        for piece in pieces {
            var sql = "SELECT resolution, bucket, value, \(figureColumns) FROM analytics WHERE resolution = ? AND dimension = ? AND bucket >= ? AND bucket < ?"
            arguments += [.integer(piece.resolution.rawValue), .text(dimension), .integer(piece.start), .integer(piece.end)]
            if let project {
                sql += " AND project = ?"
                arguments.append(.text(project))
            }
            if let values {
                sql += " AND value IN (\(StoreSQL.placeholders(values.count)))"
                arguments += values.map { .text($0) }
            }
            parts.append(sql)
        }
        return Statement(parts.joined(separator: " UNION ALL "), arguments)
    }

    /// The property names that have day rows in `[start, end)` (for the dashboard's pickers).
    static func propertyNames(project: String?, start: Int64, end: Int64) -> Statement {
        var sql = "SELECT DISTINCT dimension FROM analytics WHERE resolution = ? AND dimension LIKE 'property.%' AND bucket >= ? AND bucket < ?"
        var arguments: [SQLArgument] = [.integer(AnalyticsResolution.day.rawValue), .integer(AnalyticsResolution.day.floor(start)), .integer(end)]
        if let project {
            sql += " AND project = ?"
            arguments.append(.text(project))
        }
        return Statement(sql + " ORDER BY dimension LIMIT 100", arguments)
    }

    /// Deletes up to `?` (third argument) rows of one resolution (first) with buckets before a time (second).
    static let sweep = """
        DELETE FROM analytics WHERE (\(keyColumns)) IN (
            SELECT \(keyColumns) FROM analytics WHERE resolution = ? AND bucket < ? LIMIT ?
        )
        """

    /// What retention deletes: each resolution's rows older than it is kept, and with a records
    /// cutoff, every bucket that ended before it. (resolution, delete buckets starting before).
    static func sweepCutoffs(now: Date, recordsCutoff: Date?) -> [(AnalyticsResolution, Int64)] {
        AnalyticsResolution.allCases.compactMap { resolution in
            var cutoffs: [Int64] = []
            if let kept = resolution.keptFor { cutoffs.append(StoredTime.micros(now.addingTimeInterval(-kept))) }
            if let recordsCutoff { cutoffs.append(StoredTime.micros(recordsCutoff) - resolution.micros) }
            return cutoffs.max().map { (resolution, resolution.floor($0)) }
        }
    }
}

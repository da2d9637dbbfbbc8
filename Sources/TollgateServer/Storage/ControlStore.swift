import Foundation
import TollgateCore

/// What the gateway controls keep in the database (SPEC §7), so that instances sharing
/// PostgreSQL share them: the response cache and the rate limits' counts.
public protocol ControlStore: Sendable {
    /// The live answers kept under `key` at `now`, by slot.
    func cachedAnswers(key: String, now: Date) async throws -> [CachedAnswer]
    /// Keeps `answer` in the lowest slot of its key that is free (or holds an expired answer),
    /// below `bucketMaxSize`, and returns that slot; nil when every slot holds a live answer (or
    /// another instance took the slot first). `answer.bucketIndex` is ignored.
    func keep(_ answer: CachedAnswer, bucketMaxSize: Int) async throws -> Int?
    /// Deletes every cached answer of a project; returns how many.
    func purgeCache(project: String) async throws -> Int
    /// Deletes expired answers, then the oldest ones while the cache holds more than `maxBytes`
    /// of bodies, at most `limit` of each; returns how many went.
    func sweepCache(now: Date, maxBytes: Int64, limit: Int) async throws -> Int

    /// Adds `amount` (1 per request, or cents) to a subject's count in one fixed window. Adds
    /// from several instances at once all count (one atomic upsert each).
    func addToRateLimit(subject: String, window: RateLimitWindow.Key, amount: Double) async throws
    /// Adds `amount` to a subject's count in one fixed window and returns the new count, in one
    /// atomic statement: what a request-counting limit decides on, its own call included.
    func countRateLimit(subject: String, window: RateLimitWindow.Key, amount: Double) async throws -> Double
    /// A subject's counts in the given windows (absent windows count 0).
    func rateLimitCounts(subject: String, windowStarts: [Int64]) async throws -> [Int64: Double]
    /// Deletes the counts no sliding window reads any more (those of windows that ended more
    /// than one window before `now`); returns how many.
    func deleteRateLimitCounts(now: Date) async throws -> Int
}

extension StoreSQL {
    static let cacheSlots = "SELECT bucket_index, expires_at FROM cache_entries WHERE key = ?"
    static let liveCachedAnswers = "SELECT * FROM cache_entries WHERE key = ? AND expires_at > ? ORDER BY bucket_index"
    static let freeCacheSlot = "DELETE FROM cache_entries WHERE key = ? AND bucket_index = ?"
    static let cacheInsert = CachedAnswer.table.insert(conflict: "ON CONFLICT DO NOTHING RETURNING bucket_index")
    static let purgeCache = "DELETE FROM cache_entries WHERE project = ? RETURNING key"
    static let cacheBytes = "SELECT COALESCE(SUM(bytes), 0) AS total FROM cache_entries"
    static let expiredCache = "DELETE FROM cache_entries WHERE key IN (SELECT key FROM cache_entries WHERE expires_at <= ? ORDER BY expires_at LIMIT ?) AND expires_at <= ? RETURNING key"
    static let oldestCache = "SELECT key, bucket_index, bytes FROM cache_entries ORDER BY created_at LIMIT ?"

    static let rateLimitAdd = """
        INSERT INTO rate_limit_counts (subject, window_start, window_seconds, amount) VALUES (?, ?, ?, ?)
        ON CONFLICT (subject, window_start) DO UPDATE SET amount = rate_limit_counts.amount + excluded.amount
        RETURNING amount
        """
    static func rateLimitCounts(windows: Int) -> String {
        "SELECT window_start, amount FROM rate_limit_counts WHERE subject = ? AND window_start IN (\(placeholders(windows)))"
    }
    static let oldRateLimitCounts = "DELETE FROM rate_limit_counts WHERE window_start + 2 * window_seconds < ? RETURNING subject"
}

extension SQLStore: ControlStore {
    public func cachedAnswers(key: String, now: Date) async throws -> [CachedAnswer] {
        try await database.read(StoreSQL.liveCachedAnswers, [.text(key), .time(now)]).map(CachedAnswer.init(row:))
    }

    public func keep(_ answer: CachedAnswer, bucketMaxSize: Int) async throws -> Int? {
        let now = StoredTime.micros(answer.createdAt)
        let written = try await database.transaction(reading: [SQLStatement(StoreSQL.cacheSlots, [.text(answer.key)])]) { read in
            var live = Set<Int>(), expired = Set<Int>()
            for row in read[0] {
                guard let index = row.int("bucket_index") else { continue }
                if (row.int64("expires_at") ?? 0) > now { live.insert(index) } else { expired.insert(index) }
            }
            guard let free = (0..<max(1, bucketMaxSize)).first(where: { !live.contains($0) }) else { return [] }
            var entry = answer
            entry.bucketIndex = free
            let insert = SQLStatement(StoreSQL.cacheInsert.single, entry.arguments, returnsRows: true)
            guard expired.contains(free) else { return [insert] }
            return [SQLStatement(StoreSQL.freeCacheSlot, [.text(answer.key), .int(free)]), insert]
        }
        return written.last?.first?.int("bucket_index")
    }

    public func purgeCache(project: String) async throws -> Int {
        try await database.write([SQLStatement(StoreSQL.purgeCache, [.text(project)])]).first?.count ?? 0
    }

    public func sweepCache(now: Date, maxBytes: Int64, limit: Int) async throws -> Int {
        let expired = try await database.write([SQLStatement(StoreSQL.expiredCache, [.time(now), .int(limit), .time(now)])]).first?.count ?? 0
        let reading = [SQLStatement(StoreSQL.cacheBytes), SQLStatement(StoreSQL.oldestCache, [.int(limit)])]
        let evicted = try await database.transaction(reading: reading) { read in
            var excess = (read[0].first?.int64("total") ?? 0) - maxBytes
            var statements: [SQLStatement] = []
            for row in read[1] where excess > 0 {
                statements.append(SQLStatement(StoreSQL.freeCacheSlot + " RETURNING key", [.text(row.text("key")), .integer(row.int64("bucket_index"))]))
                excess -= row.int64("bytes") ?? 0
            }
            return statements
        }
        return expired + evicted.reduce(0) { $0 + $1.count }
    }

    public func addToRateLimit(subject: String, window: RateLimitWindow.Key, amount: Double) async throws {
        try await database.write([SQLStatement(StoreSQL.rateLimitAdd, [.text(subject), .integer(window.start), .integer(window.seconds), .real(amount)])])
    }

    public func countRateLimit(subject: String, window: RateLimitWindow.Key, amount: Double) async throws -> Double {
        let add = SQLStatement(StoreSQL.rateLimitAdd, [.text(subject), .integer(window.start), .integer(window.seconds), .real(amount)], returnsRows: true)
        return try await database.writeOne(add).first?.double("amount") ?? amount
    }

    public func rateLimitCounts(subject: String, windowStarts: [Int64]) async throws -> [Int64: Double] {
        guard !windowStarts.isEmpty else { return [:] }
        let rows = try await database.read(StoreSQL.rateLimitCounts(windows: windowStarts.count), [.text(subject)] + windowStarts.map { .integer($0) })
        var counts: [Int64: Double] = [:]
        for row in rows {
            if let start = row.int64("window_start") { counts[start] = row.double("amount") ?? 0 }
        }
        return counts
    }

    public func deleteRateLimitCounts(now: Date) async throws -> Int {
        try await database.write([SQLStatement(StoreSQL.oldRateLimitCounts, [.integer(Int64(now.timeIntervalSince1970))])]).first?.count ?? 0
    }
}

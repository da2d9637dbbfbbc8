import Foundation
import GRDB
import TollgateCore

/// The embedded store: one SQLite file in WAL mode under `storage.path`.
///
/// Bodies live in their own table as blobs, beside the records, so a batch of calls is one
/// transaction and one fsync; see the README's "Where bodies live" for the measurement.
public final class SQLiteRecordStore: RecordStore {
    let pool: DatabasePool

    /// Opens (creating if needed) the database file at `path`.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        // The file holds bodies and webhook keys: readable by its owner only, like signing.key
        // (SQLite gives its -wal and -shm files the same mode).
        if !FileManager.default.fileExists(atPath: path) {
            FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        pool = try DatabasePool(path: path, configuration: configuration)
    }

    public func migrate() async throws {
        var migrator = DatabaseMigrator()
        for migration in StoreSchema.migrations {
            migrator.registerMigration(migration.name) { db in try db.execute(sql: migration.sql) }
        }
        try migrator.migrate(pool)
    }

    public func insert(_ batch: [StoredExchange]) async throws {
        guard !batch.isEmpty else { return }
        let tables = StoreSQL.rows(of: batch, now: Date())
        try await pool.write { db in
            for (insert, rows) in tables where !rows.isEmpty {
                let statement = try db.cachedStatement(sql: insert.single)
                for row in rows { try statement.execute(arguments: StatementArguments(row)) }
            }
            try Self.writeAnalytics(db, batch.map(\.record))
        }
    }

    public func record(id: UUID) async throws -> RequestRecord? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM requests WHERE id = ?"), arguments: [id.uuidString.lowercased()]).map(Self.record(from:))
        }
    }

    public func contains(id: UUID) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM requests WHERE id = ?)", arguments: [id.uuidString.lowercased()]) ?? false
        }
    }

    public func records(matching query: RecordQuery) async throws -> RecordPage {
        let filter = SQLFilter(query)
        let limit = max(1, min(query.limit, 1000))
        let rows = try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM requests r WHERE \(filter.sql) ORDER BY created_at DESC, id DESC LIMIT \(limit + 1)",
                arguments: StatementArguments(filter.arguments)
            )
        }
        var records = rows.prefix(limit).map(Self.record(from:))
        var next: RecordCursor?
        if rows.count > limit, let last = records.last {
            next = RecordCursor(createdAtMicros: StoredTime.micros(last.createdAt), id: last.id.uuidString.lowercased())
        }
        records = Array(records)
        return RecordPage(records: records, nextCursor: next)
    }

    public func unpricedModels(project: String?) async throws -> [UnpricedModel] {
        let rows = try await pool.read { db in
            try Row.fetchAll(db, sql: UnpricedModel.sql(project: project != nil), arguments: StatementArguments(project.map { [$0] } ?? []))
        }
        return rows.map { row in
            UnpricedModel(model: row["model"], provider: row["provider"], calls: row["calls"], lastSeen: StoredTime.date(row["last_seen"])!)
        }
    }

    public func setScores(_ scores: [Score], requestID: UUID) async throws {
        let now = StoredTime.micros(Date())
        try await pool.write { db in
            for score in scores {
                try db.execute(sql: StoreSQL.upsertScore, arguments: [requestID.uuidString.lowercased(), score.name, score.value, score.isBool, now])
            }
        }
    }

    public func scores(requestIDs: [UUID]) async throws -> [UUID: [Score]] {
        guard !requestIDs.isEmpty else { return [:] }
        let ids = requestIDs.map { $0.uuidString.lowercased() }
        return try await pool.read { db in
            let placeholders = StoreSQL.placeholders(ids.count)
            var out: [UUID: [Score]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT request_id, name, value, is_bool FROM request_scores WHERE request_id IN (\(placeholders)) ORDER BY name", arguments: StatementArguments(ids)) {
                out[UUID(uuidString: row["request_id"])!, default: []].append(Score(name: row["name"], value: row["value"], isBool: row["is_bool"]))
            }
            return out
        }
    }

    public func deleteRecords(before cutoff: Date, limit: Int) async throws -> Int {
        try await deleteOldest(StoreSQL.oldRecords, before: cutoff, limit: limit, from: StoreSQL.recordTables)
    }

    public func deleteDeliveryLogs(before cutoff: Date, limit: Int) async throws -> Int {
        try await deleteOldest(StoreSQL.oldDeliveries, before: cutoff, limit: limit, from: StoreSQL.deliveryLogTables)
    }

    /// Deletes the ids `select` finds from each (table, id column), in one transaction.
    func deleteOldest(_ select: String, before cutoff: Date, limit: Int, from tables: [(String, String)]) async throws -> Int {
        try await pool.write { db in
            let ids = try String.fetchAll(db, sql: select, arguments: [StoredTime.micros(cutoff), limit])
            guard !ids.isEmpty else { return 0 }
            for (table, column) in tables {
                try db.execute(sql: StoreSQL.deleteIn(table, column, count: ids.count), arguments: StatementArguments(ids))
            }
            return ids.count
        }
    }

    public func bodies(id: UUID) async throws -> StoredBodies? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT request, response, response_reconstructed FROM bodies WHERE request_id = ?"), arguments: [id.uuidString.lowercased()]).map { row in
                StoredBodies(
                    request: (row["request"] as Data?).map { [UInt8]($0) },
                    response: (row["response"] as Data?).map { [UInt8]($0) },
                    reconstructedResponse: (row["response_reconstructed"] as Data?).map { [UInt8]($0) }
                )
            }
        }
    }

    static func record(from row: Row) -> RequestRecord {
        let total: Int? = row["total_tokens"]
        var usage: TokenUsage?
        if total != nil {
            usage = TokenUsage(
                inputTokens: row["prompt_tokens"] ?? 0, outputTokens: row["completion_tokens"] ?? 0,
                cacheReadTokens: row["cache_read_tokens"] ?? 0, cacheWrite5mTokens: row["cache_write_tokens"] ?? 0,
                reasoningTokens: row["reasoning_tokens"] ?? 0
            )
        }
        return RequestRecord(
            id: UUID(uuidString: row["id"])!, project: row["project"],
            createdAt: StoredTime.date(row["created_at"])!, method: row["method"], path: row["path"],
            provider: row["provider"], model: row["model"], status: row["status"], stream: row["stream"],
            userID: row["user_id"], properties: PropertyCoding.decode(row["properties"]), sessionID: row["session_id"],
            sessionPath: row["session_path"], sessionName: row["session_name"], usage: usage, costUSD: row["cost_usd"],
            latencyMs: row["latency_ms"], timeToFirstTokenMs: row["time_to_first_token_ms"],
            upstreamLatencyMs: row["upstream_latency_ms"], overheadMs: row["overhead_ms"], cacheHit: row["cache_hit"],
            requestBytes: row["request_bytes"], responseBytes: row["response_bytes"],
            responseTruncated: row["response_truncated"], error: row["error"]
        )
    }
}

/// A portable SQL value, so both stores bind the same arguments to the same statements.
enum SQLArgument: Sendable {
    case text(String?)
    case integer(Int64?)
    case real(Double?)
    case bool(Bool?)
    case bytes([UInt8]?)

    var databaseValue: DatabaseValue {
        switch self {
        case .text(let v): v.databaseValue
        case .integer(let v): v.databaseValue
        case .real(let v): v.databaseValue
        case .bool(let v): v.databaseValue
        case .bytes(let v): v.map { Data($0) }.databaseValue
        }
    }
}

extension StatementArguments {
    init(_ arguments: [SQLArgument]) {
        self.init(arguments.map(\.databaseValue))
    }
}

/// The WHERE clause of a ``RecordQuery``, in SQL that SQLite and PostgreSQL both accept
/// (positional `?` placeholders; the PostgreSQL store renumbers them).
struct SQLFilter: Sendable {
    var sql: String
    var arguments: [SQLArgument]

    init(_ query: RecordQuery) {
        var clauses: [String] = []
        var arguments: [SQLArgument] = []
        if let project = query.project {
            clauses.append("r.project = ?")
            arguments.append(.text(project))
        }
        if let user = query.userID {
            clauses.append("r.user_id = ?")
            arguments.append(.text(user))
        }
        if let model = query.model {
            clauses.append("r.model = ?")
            arguments.append(.text(model))
        }
        if let status = query.status {
            clauses.append("r.status = ?")
            arguments.append(.integer(Int64(status)))
        }
        if let since = query.since {
            clauses.append("r.created_at >= ?")
            arguments.append(.integer(StoredTime.micros(since)))
        }
        if let until = query.until {
            clauses.append("r.created_at < ?")
            arguments.append(.integer(StoredTime.micros(until)))
        }
        for score in query.scores {
            clauses.append("EXISTS (SELECT 1 FROM request_scores s WHERE s.request_id = r.id AND s.name = ? AND s.value = ?)")
            arguments.append(.text(score.name))
            arguments.append(.real(score.value))
        }
        for property in query.properties {
            clauses.append("EXISTS (SELECT 1 FROM request_properties p WHERE p.request_id = r.id AND p.name = ? AND p.value = ?)")
            arguments.append(.text(property.key))
            arguments.append(.text(property.value))
        }
        if let cursor = query.cursor {
            clauses.append("(r.created_at < ? OR (r.created_at = ? AND r.id < ?))")
            arguments.append(.integer(cursor.createdAtMicros))
            arguments.append(.integer(cursor.createdAtMicros))
            arguments.append(.text(cursor.id))
        }
        self.sql = clauses.isEmpty ? "1 = 1" : clauses.joined(separator: " AND ")
        self.arguments = arguments
    }
}

/// Properties as stored in a record's `properties` column: a JSON object in the order sent.
enum PropertyCoding {
    static func encode(_ properties: [Property]) -> String {
        JSONValue.object(properties.map { ($0.name, .string($0.value)) }).serializedString()
    }

    static func decode(_ text: String?) -> [Property] {
        guard let text, let value = try? JSONValue.parse(text), let object = value.objectValue else { return [] }
        return object.compactMap { name, value in value.stringValue.map { Property(name: name, value: $0) } }
    }
}

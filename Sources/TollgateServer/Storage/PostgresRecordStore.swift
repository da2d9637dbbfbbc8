import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TollgateCore

/// The scale-out store: PostgreSQL through PostgresNIO, with the same tables and statements as
/// ``SQLiteRecordStore``. Several gateways may share one database: migrations take an advisory
/// lock, and delivery claims use `FOR UPDATE SKIP LOCKED` with a lease.
public final class PostgresRecordStore: Sendable {
    let client: PostgresClient
    let runner: Task<Void, Never>
    let schema: String
    let logger: Logger
    let location: String
    /// One direct connection's settings, to check the database once before the pool (which retries
    /// for a minute) is used.
    let probe: PostgresConnection.Configuration
    /// How long one statement or transaction (with the wait for a connection) may take before it
    /// is given up as ``StoreUnavailable``.
    let timeout: Duration
    /// Whether the last statement found the database unreachable.
    let unreachable = Mutex(false)

    /// Connects (lazily) to `url` (`postgres://user:password@host:port/database`); every table lives in `schema`.
    public init(url: String, schema: String, timeout: Duration = .seconds(10), logger: Logger) throws {
        guard let parts = URLComponents(string: url), ["postgres", "postgresql"].contains(parts.scheme ?? ""), let host = parts.host else {
            throw ConfigError("storage.postgres.url must look like postgres://user:password@host:5432/database, got '\(url)'")
        }
        guard schema.range(of: "^[a-z_][a-z0-9_]*$", options: .regularExpression) != nil else {
            throw ConfigError("storage.postgres.schema must be a lowercase SQL identifier, got '\(schema)'")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: parts.port ?? 5432, username: parts.user?.removingPercentEncoding ?? "postgres",
            password: parts.password?.removingPercentEncoding, database: String(parts.path.dropFirst()).nilIfEmpty ?? parts.user, tls: .disable
        )
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        self.probe = PostgresConnection.Configuration(
            host: host, port: parts.port ?? 5432, username: configuration.username, password: configuration.password,
            database: configuration.database, tls: .disable
        )
        configuration.options.maximumConnections = 16
        configuration.options.connectTimeout = .seconds(5)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.runner = Task { await client.run() }
        self.schema = schema
        self.timeout = timeout
        self.logger = logger
        self.location = "\(host):\(parts.port ?? 5432)\(parts.path)"
    }

    /// Stops the connection pool.
    public func close() {
        runner.cancel()
    }

    /// `sql` with its `?` placeholders numbered `$1…` and bound to `values`.
    static func query(_ sql: String, _ values: [SQLArgument] = []) -> PostgresQuery {
        var text = ""
        var n = 0
        for ch in sql {
            if ch == "?" {
                n += 1
                text += "$\(n)"
            } else {
                text.append(ch)
            }
        }
        var binds = PostgresBindings(capacity: values.count)
        for value in values { value.bind(into: &binds) }
        return PostgresQuery(unsafeSQL: text, binds: binds)
    }

    @discardableResult
    func run(_ sql: String, _ values: [SQLArgument] = []) async throws -> [PostgresRandomAccessRow] {
        let (client, logger, query) = (self.client, self.logger, Self.query(sql, values))
        return try await bounded { try await client.query(query, logger: logger).collect().map { $0.makeRandomAccess() } }
    }

    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let (client, logger) = (self.client, self.logger)
        return try await bounded { try await client.withTransaction(logger: logger) { connection in try await body(connection) } }
    }

    /// Every use of the database goes through here: bounded by ``timeout`` (PostgresNIO waits for
    /// a connection as long as the server is down, and a query written to a connection that has
    /// just closed can wait forever), with the failures of an unreachable server turned into
    /// ``StoreUnavailable`` so that callers know to retry. During graceful shutdown a call waits
    /// at most ``shutdownGrace``, and none at all while the last one found the database unreachable.
    func bounded<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let grace = { @Sendable [self] in unreachable.withLock { $0 } ? Duration.zero : Self.shutdownGrace }
        if Task.isShuttingDownGracefully, grace() == .zero {
            throw StoreUnavailable("the database was unreachable at the last try")
        }
        do {
            let value = try await withStoreTimeout(timeout, shutdownGrace: grace, operation)
            unreachable.withLock { $0 = false }
            return value
        } catch let error where Self.isUnavailability(error) {
            unreachable.withLock { $0 = true }
            throw error as? StoreUnavailable ?? StoreUnavailable("the database is unreachable: \(Self.describe(error))")
        }
    }

    static let shutdownGrace: Duration = .seconds(3)

    /// Whether `error` says the server could not be reached or used (a closed or refused
    /// connection, a server shutting down or starting up) rather than that a statement was wrong.
    static func isUnavailability(_ error: any Error) -> Bool {
        switch error {
        case is StoreUnavailable, is ChannelError, is IOError:
            return true
        case let error as PostgresTransactionError:
            // A server shutting down ends a transaction at BEGIN, in the body or at COMMIT.
            return [error.beginError, error.closureError, error.commitError].contains { $0.map(isUnavailability) ?? false }
        case let error as PSQLError:
            if error.code == .server {
                // Classes 08 (connection exception), 53 (insufficient resources), 57 (operator
                // intervention: shutdown, restart), but not 57014, a statement cancelled or
                // timed out, which would only happen again.
                let state = error.serverInfo?[.sqlState] ?? ""
                return ["08", "53", "57"].contains(String(state.prefix(2))) && state != "57014"
            }
            return [.clientClosedConnection, .serverClosedConnection, .connectionError, .uncleanShutdown, .poolClosed, .queryCancelled].contains(error.code)
        default:
            // The pool's own errors (no connection could be made: its circuit breaker) come from a
            // module PostgresNIO does not export.
            return String(reflecting: type(of: error)).hasSuffix("ConnectionPoolError")
        }
    }
}

extension SQLArgument {
    func bind(into binds: inout PostgresBindings) {
        switch self {
        case .text(let v): binds.append(v)
        case .integer(let v): binds.append(v)
        case .real(let v): binds.append(v)
        case .bool(let v): binds.append(v)
        case .bytes(let v): binds.append(v.map { ByteBuffer(bytes: $0) })
        }
    }
}

extension PostgresConnection {
    @discardableResult
    func run(_ sql: String, _ values: [SQLArgument] = [], logger: Logger) async throws -> [PostgresRandomAccessRow] {
        try await query(PostgresRecordStore.query(sql, values), logger: logger).collect().map { $0.makeRandomAccess() }
    }
}

extension PostgresRandomAccessRow {
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

extension PostgresRecordStore: RecordStore {
    public func migrate() async throws {
        do {
            let connection = try await PostgresConnection.connect(
                on: PostgresClient.defaultEventLoopGroup.any(), configuration: probe, id: 0, logger: logger
            ).get()
            try? await connection.close()
            // CREATE SCHEMA IF NOT EXISTS is not safe against a concurrent one (two instances
            // starting on a new schema: a duplicate-key error), so it runs under the lock too.
            let (schema, logger) = (self.schema, self.logger)
            try await transaction { connection in
                try await connection.run("SELECT pg_advisory_xact_lock(727245)", logger: logger)
                try await connection.run("CREATE SCHEMA IF NOT EXISTS \(schema)", logger: logger)
            }
        } catch {
            throw ConfigError("cannot use PostgreSQL at \(location): \(Self.describe(error)); check storage.postgres.url and that the server is running")
        }
        let logger = self.logger
        // Not bounded by `timeout`: a migration may build an index on a large table, and the
        // others wait for it on the lock.
        try await client.withTransaction(logger: logger) { connection in
            // One instance migrates at a time; the others wait here, then find nothing to do.
            try await connection.run("SELECT pg_advisory_xact_lock(727245)", logger: logger)
            try await connection.run("CREATE TABLE IF NOT EXISTS tollgate_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)", logger: logger)
            let applied = Set(try await connection.run("SELECT name FROM tollgate_migrations", logger: logger).map { try $0.value("name", as: String.self) })
            for migration in StoreSchema.migrations where !applied.contains(migration.name) {
                for statement in StoreSchema.postgres(migration.sql).split(separator: ";") where !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    try await connection.run(String(statement), logger: logger)
                }
                try await connection.run("INSERT INTO tollgate_migrations (name, applied_at) VALUES (?, ?)", [.text(migration.name), .integer(StoredTime.micros(Date()))], logger: logger)
            }
        }
    }

    /// The server's own words for a failure (PSQLError hides them from `description`).
    static func describe(_ error: any Error) -> String {
        if let error = error as? PostgresTransactionError, let cause = error.commitError ?? error.closureError ?? error.beginError {
            return describe(cause)
        }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            return "\(error.code)" + (error.underlying.map { ": \($0)" } ?? "")
        }
        return "\(error)"
    }

    /// One multi-row statement per table (per ~30,000 values): a batch costs a few round trips,
    /// not several per call.
    public func insert(_ batch: [StoredExchange]) async throws {
        guard !batch.isEmpty else { return }
        let logger = self.logger
        let tables = StoreSQL.rows(of: batch, now: Date())
        try await transaction { connection in
            for (insert, rows) in tables where !rows.isEmpty {
                for chunk in Self.chunks(rows.count, width: insert.width) {
                    try await connection.run(insert.rows(chunk.count), rows[chunk].flatMap { $0 }, logger: logger)
                }
            }
            try await Self.writeAnalytics(connection, batch.map(\.record), logger: logger)
        }
    }

    /// Index ranges of `count` rows, each small enough to bind in one statement (PostgreSQL
    /// takes at most 65,535 values).
    static func chunks(_ count: Int, width: Int) -> [Range<Int>] {
        let size = max(1, 30_000 / max(1, width))
        return stride(from: 0, to: count, by: size).map { $0..<min(count, $0 + size) }
    }

    public func record(id: UUID) async throws -> RequestRecord? {
        try await run("SELECT * FROM requests WHERE id = ?", [.text(id.uuidString.lowercased())]).first.map(Self.record(from:))
    }

    public func contains(id: UUID) async throws -> Bool {
        try await run("SELECT EXISTS (SELECT 1 FROM requests WHERE id = ?) AS found", [.text(id.uuidString.lowercased())]).first?.value("found") ?? false
    }

    public func records(matching query: RecordQuery) async throws -> RecordPage {
        let filter = SQLFilter(query)
        let limit = max(1, min(query.limit, 1000))
        let rows = try await run(
            "SELECT * FROM requests r WHERE \(filter.sql) ORDER BY created_at DESC, id DESC LIMIT \(limit + 1)",
            filter.arguments
        )
        let records = try rows.prefix(limit).map(Self.record(from:))
        var next: RecordCursor?
        if rows.count > limit, let last = records.last {
            next = RecordCursor(createdAtMicros: StoredTime.micros(last.createdAt), id: last.id.uuidString.lowercased())
        }
        return RecordPage(records: records, nextCursor: next)
    }

    public func unpricedModels(project: String?) async throws -> [UnpricedModel] {
        try await run(UnpricedModel.sql(project: project != nil), project.map { [.text($0)] } ?? []).map { row in
            UnpricedModel(model: try row.value("model"), provider: try row.value("provider"), calls: try row.value("calls", as: Int.self),
                          lastSeen: StoredTime.date(try row.value("last_seen", as: Int64.self))!)
        }
    }

    public func bodies(id: UUID) async throws -> StoredBodies? {
        try await run("SELECT request, response, response_reconstructed FROM bodies WHERE request_id = ?", [.text(id.uuidString.lowercased())]).first.map { row in
            func bytes(_ column: String) throws -> [UInt8]? { try row.value(column, as: ByteBuffer?.self).map { Array($0.readableBytesView) } }
            return StoredBodies(request: try bytes("request"), response: try bytes("response"), reconstructedResponse: try bytes("response_reconstructed"))
        }
    }

    public func setScores(_ scores: [Score], requestID: UUID) async throws {
        let logger = self.logger
        let now = StoredTime.micros(Date())
        try await transaction { connection in
            for score in scores {
                try await connection.run(StoreSQL.upsertScore, [
                    .text(requestID.uuidString.lowercased()), .text(score.name), .real(score.value), .bool(score.isBool), .integer(now),
                ], logger: logger)
            }
        }
    }

    public func scores(requestIDs: [UUID]) async throws -> [UUID: [Score]] {
        guard !requestIDs.isEmpty else { return [:] }
        let placeholders = StoreSQL.placeholders(requestIDs.count)
        var out: [UUID: [Score]] = [:]
        for row in try await run("SELECT request_id, name, value, is_bool FROM request_scores WHERE request_id IN (\(placeholders)) ORDER BY name", requestIDs.map { .text($0.uuidString.lowercased()) }) {
            out[UUID(uuidString: try row.value("request_id"))!, default: []].append(Score(name: try row.value("name"), value: try row.value("value"), isBool: try row.value("is_bool")))
        }
        return out
    }

    public func deleteRecords(before cutoff: Date, limit: Int) async throws -> Int {
        try await deleteOldest(StoreSQL.oldRecords, before: cutoff, limit: limit, from: StoreSQL.recordTables)
    }

    public func deleteDeliveryLogs(before cutoff: Date, limit: Int) async throws -> Int {
        try await deleteOldest(StoreSQL.oldDeliveries, before: cutoff, limit: limit, from: StoreSQL.deliveryLogTables)
    }

    /// Deletes the ids `select` finds from each (table, id column), in one transaction.
    func deleteOldest(_ select: String, before cutoff: Date, limit: Int, from tables: [(String, String)]) async throws -> Int {
        let logger = self.logger
        return try await transaction { connection in
            let ids = try await connection.run(select, [.integer(StoredTime.micros(cutoff)), .integer(Int64(limit))], logger: logger)
                .map { SQLArgument.text(try $0.value("id", as: String.self)) }
            guard !ids.isEmpty else { return 0 }
            for (table, column) in tables {
                try await connection.run(StoreSQL.deleteIn(table, column, count: ids.count), ids, logger: logger)
            }
            return ids.count
        }
    }

    static func record(from row: PostgresRandomAccessRow) throws -> RequestRecord {
        let total: Int? = try row.value("total_tokens")
        var usage: TokenUsage?
        if total != nil {
            usage = TokenUsage(
                inputTokens: try row.value("prompt_tokens", as: Int?.self) ?? 0, outputTokens: try row.value("completion_tokens", as: Int?.self) ?? 0,
                cacheReadTokens: try row.value("cache_read_tokens", as: Int?.self) ?? 0,
                cacheWrite5mTokens: try row.value("cache_write_tokens", as: Int?.self) ?? 0,
                reasoningTokens: try row.value("reasoning_tokens", as: Int?.self) ?? 0
            )
        }
        return RequestRecord(
            id: UUID(uuidString: try row.value("id"))!, project: try row.value("project"),
            createdAt: StoredTime.date(try row.value("created_at", as: Int64.self))!, method: try row.value("method"),
            path: try row.value("path"), provider: try row.value("provider"), model: try row.value("model"),
            status: try row.value("status"), stream: try row.value("stream"), userID: try row.value("user_id"),
            properties: PropertyCoding.decode(try row.value("properties")), sessionID: try row.value("session_id"),
            sessionPath: try row.value("session_path"), sessionName: try row.value("session_name"), usage: usage,
            costUSD: try row.value("cost_usd"), latencyMs: try row.value("latency_ms"),
            timeToFirstTokenMs: try row.value("time_to_first_token_ms"), upstreamLatencyMs: try row.value("upstream_latency_ms"),
            overheadMs: try row.value("overhead_ms"), cacheHit: try row.value("cache_hit"), requestBytes: try row.value("request_bytes"),
            responseBytes: try row.value("response_bytes"),
            responseTruncated: try row.value("response_truncated"), error: try row.value("error")
        )
    }
}

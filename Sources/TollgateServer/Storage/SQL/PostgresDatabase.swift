import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TollgateCore

/// The scale-out engine: PostgreSQL through PostgresNIO. Several gateways may share one
/// database: migrations take an advisory lock, and delivery claims use `FOR UPDATE SKIP LOCKED`
/// with a lease (``SQLDialect/postgres``).
///
/// The client's pool runs from here on (migrations need it before the services start); the
/// store's service closes it after everything that writes has stopped.
final class PostgresDatabase: SQLDatabase {
    let dialect = SQLDialect.postgres
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
    init(url: String, schema: String, timeout: Duration = .seconds(10), logger: Logger) throws {
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
    func close() async {
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

    func read(_ statement: SQLStatement) async throws -> [SQLRow] {
        let (client, logger, query) = (self.client, self.logger, Self.query(statement.sql, statement.arguments))
        return try await bounded { try await Self.rows(client.query(query, logger: logger)) }
    }

    func writeOne(_ statement: SQLStatement) async throws -> [SQLRow] {
        // Outside a transaction each statement commits on its own: the same, in one round trip.
        try await read(statement)
    }

    func fold<State: Sendable>(_ statement: SQLStatement, into state: State, _ step: @escaping @Sendable (inout State, SQLRow) throws -> Bool) async throws -> State {
        let (client, logger, query) = (self.client, self.logger, Self.query(statement.sql, statement.arguments))
        return try await bounded {
            var state = state
            var columns: [String: Int]?
            for try await row in try await client.query(query, logger: logger) {
                let cells = Array(row)
                if columns == nil { columns = Dictionary(cells.map { ($0.columnName, $0.columnIndex) }, uniquingKeysWith: { first, _ in first }) }
                guard try step(&state, SQLRow(columns: columns!, values: try cells.map(Self.value))) else { break }
            }
            return state
        }
    }

    func transaction(reading: [SQLStatement], then: @escaping @Sendable ([[SQLRow]]) throws -> [SQLStatement]) async throws -> [[SQLRow]] {
        let (client, logger) = (self.client, self.logger)
        do {
            return try await bounded {
                try await client.withTransaction(logger: logger) { connection in
                    var read: [[SQLRow]] = []
                    for statement in reading { read.append(try await connection.run(statement, logger: logger)) }
                    var written: [[SQLRow]] = []
                    for statement in try then(read) { written.append(try await connection.run(statement, logger: logger)) }
                    return written
                }
            }
        } catch let error as PostgresTransactionError where error.closureError is any Refusal && error.rollbackError == nil {
            // `then` refused the transaction and it was rolled back: the caller gets its reason, as from SQLite.
            throw error.closureError!
        }
    }

    /// A result's rows as ``SQLRow``s: booleans as 0 and 1, every integer as `Int64`.
    static func rows(_ sequence: PostgresRowSequence) async throws -> [SQLRow] {
        var columns: [String: Int]?
        var rows: [SQLRow] = []
        for try await row in sequence {
            let cells = Array(row)
            if columns == nil {
                columns = Dictionary(cells.map { ($0.columnName, $0.columnIndex) }, uniquingKeysWith: { first, _ in first })
            }
            rows.append(SQLRow(columns: columns!, values: try cells.map(value)))
        }
        return rows
    }

    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .numeric: return .real(NSDecimalNumber(decimal: try cell.decode(Decimal.self)).doubleValue)  // SUM of a BIGINT
        case .bytea: return .blob(Array(try cell.decode(ByteBuffer.self).readableBytesView))
        default: return .text(try cell.decode(String.self))
        }
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

extension PostgresDatabase {
    func migrate(_ migrations: [StoreSchema.Migration]) async throws {
        do {
            let connection = try await PostgresConnection.connect(
                on: PostgresClient.defaultEventLoopGroup.any(), configuration: probe, id: 0, logger: logger
            ).get()
            try? await connection.close()
            // CREATE SCHEMA IF NOT EXISTS is not safe against a concurrent one (two instances
            // starting on a new schema: a duplicate-key error), so it runs under the lock too.
            // Not bounded by `timeout` (the probe just reached the server): it waits on the lock
            // while another instance migrates.
            let (schema, logger) = (self.schema, self.logger)
            try await client.withTransaction(logger: logger) { connection in
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
            let applied = Set(try await connection.run("SELECT name FROM tollgate_migrations", logger: logger).compactMap { $0.text("name") })
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await connection.run(statement, logger: logger)
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

}

extension PostgresConnection {
    @discardableResult
    func run(_ statement: SQLStatement, logger: Logger) async throws -> [SQLRow] {
        try await PostgresDatabase.rows(query(PostgresDatabase.query(statement.sql, statement.arguments), logger: logger))
    }

    @discardableResult
    func run(_ sql: String, _ values: [SQLArgument] = [], logger: Logger) async throws -> [SQLRow] {
        try await run(SQLStatement(sql, values), logger: logger)
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}


import Foundation
import GRDB

/// The embedded engine: one SQLite file in WAL mode, through GRDB's pool (one writer, readers
/// beside it). Bodies live in their own table beside the records, so a batch of calls is one
/// transaction and one fsync; see the README's "Where bodies live" for the measurement.
final class SQLiteDatabase: SQLDatabase {
    let pool: DatabasePool
    let dialect = SQLDialect.sqlite

    /// Opens (creating if needed) the database file at `path`.
    init(path: String) throws {
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

    func migrate(_ migrations: [StoreSchema.Migration]) async throws {
        var migrator = DatabaseMigrator()
        for migration in migrations {
            migrator.registerMigration(migration.name) { db in
                for statement in migration.statements { try db.execute(sql: statement) }
            }
        }
        try migrator.migrate(pool)
    }

    func read(_ statement: SQLStatement) async throws -> [SQLRow] {
        try await pool.read { db in try Self.rows(db, statement) }
    }

    func fold<State: Sendable>(_ statement: SQLStatement, into state: State, _ step: @escaping @Sendable (inout State, SQLRow) throws -> Bool) async throws -> State {
        try await pool.read { db in
            var state = state
            let prepared = try db.cachedStatement(sql: statement.sql)
            let columns = Self.columns(prepared)
            let cursor = try Row.fetchCursor(prepared, arguments: Self.arguments(statement.arguments))
            while let row = try cursor.next() {
                guard try step(&state, SQLRow(columns: columns, values: (0..<row.count).map { Self.value(row[$0] as DatabaseValue) })) else { break }
            }
            return state
        }
    }

    func transaction(reading: [SQLStatement], then: @escaping @Sendable ([[SQLRow]]) throws -> [SQLStatement]) async throws -> [[SQLRow]] {
        try await pool.write { db in
            let read = try reading.map { try Self.rows(db, $0) }
            return try then(read).map { statement in
                // Most writes return nothing: run them without reading a cursor.
                guard statement.returnsRows else {
                    try db.cachedStatement(sql: statement.sql).execute(arguments: Self.arguments(statement.arguments))
                    return []
                }
                return try Self.rows(db, statement)
            }
        }
    }

    func close() async {
        try? pool.close()
    }

    static func rows(_ db: Database, _ statement: SQLStatement) throws -> [SQLRow] {
        let prepared = try db.cachedStatement(sql: statement.sql)
        let columns = columns(prepared)
        return try Row.fetchAll(prepared, arguments: arguments(statement.arguments)).map { row in
            SQLRow(columns: columns, values: (0..<row.count).map { value(row[$0] as DatabaseValue) })
        }
    }

    static func columns(_ statement: Statement) -> [String: Int] {
        Dictionary(statement.columnNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    static func value(_ value: DatabaseValue) -> SQLValue {
        switch value.storage {
        case .null: .null
        case .int64(let v): .integer(v)
        case .double(let v): .real(v)
        case .string(let v): .text(v)
        case .blob(let v): .blob([UInt8](v))
        }
    }

    static func arguments(_ arguments: [SQLArgument]) -> StatementArguments {
        // As optionals of the protocol: GRDB's initializer for concrete values reads each through
        // a key path, a tenth of the recorder's CPU in a profile.
        StatementArguments(arguments.map { argument -> (any DatabaseValueConvertible)? in
            switch argument {
            case .text(let v): v.databaseValue
            case .integer(let v): v.databaseValue
            case .real(let v): v.databaseValue
            case .bool(let v): v.databaseValue
            case .bytes(let v): v.map { Data($0) }.databaseValue
            }
        })
    }
}

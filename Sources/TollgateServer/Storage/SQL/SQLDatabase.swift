import Foundation

/// What ``SQLStore`` needs from a database engine, and all it needs: migrations, reads, and
/// transactions of statements. The two drivers are ``SQLiteDatabase`` (GRDB) and
/// ``PostgresDatabase`` (PostgresNIO); every statement is written once, with `?` placeholders,
/// and the differences between the engines are named in ``SQLDialect``.
protocol SQLDatabase: Sendable {
    var dialect: SQLDialect { get }
    /// Applies each migration not yet applied, in order, recording its name.
    func migrate(_ migrations: [StoreSchema.Migration]) async throws
    /// Runs one statement outside any transaction and returns its rows.
    func read(_ statement: SQLStatement) async throws -> [SQLRow]
    /// Runs one statement and folds its rows into `state` one at a time, without holding them
    /// all; `step` returns false to stop early.
    func fold<State: Sendable>(_ statement: SQLStatement, into state: State, _ step: @escaping @Sendable (inout State, SQLRow) throws -> Bool) async throws -> State
    /// One transaction: runs `reading`, then the statements `then` builds from their rows, and
    /// returns the rows of those (a `RETURNING` clause), statement by statement.
    func transaction(
        reading: [SQLStatement], then: @escaping @Sendable ([[SQLRow]]) throws -> [SQLStatement]
    ) async throws -> [[SQLRow]]
    /// One write statement on its own, atomic by itself: on PostgreSQL one round trip, without
    /// BEGIN and COMMIT around it.
    func writeOne(_ statement: SQLStatement) async throws -> [SQLRow]
    /// Gives up the connections; the last thing the store's service does.
    func close() async
}

extension SQLDatabase {
    /// One transaction of statements known in advance.
    @discardableResult
    func write(_ statements: [SQLStatement]) async throws -> [[SQLRow]] {
        try await transaction(reading: []) { _ in statements }
    }

    func writeOne(_ statement: SQLStatement) async throws -> [SQLRow] {
        try await write([statement]).first ?? []
    }

    func read(_ sql: String, _ arguments: [SQLArgument] = []) async throws -> [SQLRow] {
        try await read(SQLStatement(sql, arguments))
    }
}

/// One statement and its arguments, bound in order to its `?` placeholders.
struct SQLStatement: Sendable {
    var sql: String
    var arguments: [SQLArgument]
    /// Whether it answers rows (a `SELECT`, or a `RETURNING` clause) that a write must read.
    var returnsRows: Bool

    init(_ sql: String, _ arguments: [SQLArgument] = [], returnsRows: Bool? = nil) {
        self.sql = sql
        self.arguments = arguments
        self.returnsRows = returnsRows ?? (sql.hasPrefix("SELECT") || sql.contains("RETURNING"))
    }
}

/// An error a transaction's `then` throws to roll it back on purpose; both engines pass it to the
/// caller as it was thrown.
protocol Refusal: Error {}

/// Where SQLite and PostgreSQL differ, in one place. Everything else is the same SQL text.
struct SQLDialect: Sendable {
    /// The column type of a byte string.
    let blob: String
    /// Added to the inner `SELECT` of a claim so that concurrent claimers skip the rows another
    /// has locked (PostgreSQL); SQLite has one writer at a time and needs nothing.
    let skipLocked: String
    /// Rows one `INSERT` carries. SQLite runs a cached statement per row (no round trips to
    /// save); PostgreSQL sends as many rows as fit in 30,000 bound values (it takes at most 65,535),
    /// since each statement is a round trip.
    let rowsPerStatement: @Sendable (_ width: Int) -> Int
    /// Taken first in a transaction that reads rows, merges into them and writes them back
    /// (the analytics), so that writers sharing the database merge one after the other: a
    /// transaction-scoped advisory lock on PostgreSQL; nothing on SQLite, which has one writer.
    let serializedMerge: SQLStatement?

    static let sqlite = SQLDialect(blob: "BLOB", skipLocked: "", rowsPerStatement: { _ in 1 }, serializedMerge: nil)
    static let postgres = SQLDialect(
        blob: "BYTEA", skipLocked: "FOR UPDATE SKIP LOCKED", rowsPerStatement: { max(1, 30_000 / max(1, $0)) },
        serializedMerge: SQLStatement("SELECT pg_advisory_xact_lock(727246)")
    )

    /// Whether several rows go in one statement.
    var batchesRows: Bool { rowsPerStatement(2) > 1 }
}

/// A portable SQL value, so both drivers bind the same arguments to the same statements.
enum SQLArgument: Sendable, Equatable {
    case text(String?)
    case integer(Int64?)
    case real(Double?)
    case bool(Bool?)
    case bytes([UInt8]?)

    static func id(_ id: UUID) -> SQLArgument { .text(id.uuidString.lowercased()) }
    static func id(_ id: UUID?) -> SQLArgument { .text(id?.uuidString.lowercased()) }
    static func time(_ date: Date) -> SQLArgument { .integer(StoredTime.micros(date)) }
    static func time(_ date: Date?) -> SQLArgument { .integer(date.map(StoredTime.micros)) }
    static func int(_ value: Int) -> SQLArgument { .integer(Int64(value)) }
    static func int(_ value: Int?) -> SQLArgument { .integer(value.map(Int64.init)) }
}

/// A value read back. Booleans arrive as integers 0 and 1 from either engine.
enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// One row of a result, its columns by name. Accessors return nil for NULL and for a value of
/// another type (a schema mistake the tests catch, not a user's input).
struct SQLRow: Sendable {
    /// Column index by name, shared by every row of one result.
    let columns: [String: Int]
    let values: [SQLValue]

    subscript(_ column: String) -> SQLValue {
        columns[column].map { values[$0] } ?? .null
    }

    func text(_ column: String) -> String? {
        if case .text(let v) = self[column] { return v }
        return nil
    }

    func int64(_ column: String) -> Int64? {
        switch self[column] {
        case .integer(let v): v
        case .real(let v): Int64(exactly: v)
        default: nil
        }
    }

    func int(_ column: String) -> Int? { int64(column).map(Int.init) }

    func double(_ column: String) -> Double? {
        switch self[column] {
        case .real(let v): v
        case .integer(let v): Double(v)
        default: nil
        }
    }

    func bool(_ column: String) -> Bool? { int64(column).map { $0 != 0 } }

    func bytes(_ column: String) -> [UInt8]? {
        switch self[column] {
        case .blob(let v): v
        case .text(let v): Array(v.utf8)
        default: nil
        }
    }

    /// A time stored as integer microseconds since 1970.
    func date(_ column: String) -> Date? { StoredTime.date(int64(column)) }

    /// A lowercase UUID stored as text.
    func id(_ column: String) -> UUID? { text(column).flatMap(UUID.init(uuidString:)) }
}

/// A column that must hold a value did not: the schema and the codec disagree.
struct StoredRowError: Error, CustomStringConvertible {
    let description: String
}

extension SQLRow {
    /// The value of a column that is `NOT NULL` in the schema.
    func required<T>(_ column: String, _ read: (SQLRow) -> (String) -> T?) throws -> T {
        guard let value = read(self)(column) else {
            throw StoredRowError(description: "stored row has no usable value in column \(column)")
        }
        return value
    }
}

/// A statement run once per row of arguments, which PostgreSQL can also take for many rows at
/// once (``SQLDialect/rowsPerStatement``): an `INSERT … VALUES (…), (…)`, or an `UPDATE … FROM
/// (VALUES …)`.
struct RowStatement: Sendable {
    /// The statement for one row.
    let single: String
    /// The statement for `n` rows, arguments row after row; nil when there is no such form.
    let many: (@Sendable (_ n: Int) -> String)?
    /// Arguments per row.
    let width: Int

    /// The statements that apply `rows`, in order.
    func statements(_ rows: [[SQLArgument]], _ dialect: SQLDialect) -> [SQLStatement] {
        guard !rows.isEmpty else { return [] }
        let size = dialect.rowsPerStatement(width)
        guard size > 1, let many else { return rows.map { SQLStatement(single, $0, returnsRows: false) } }
        return stride(from: 0, to: rows.count, by: size).map { start in
            let chunk = rows[start..<min(rows.count, start + size)]
            return SQLStatement(chunk.count == 1 ? single : many(chunk.count), chunk.flatMap { $0 }, returnsRows: false)
        }
    }
}

/// A table and its columns, in the order a codec writes them: the one place that names them,
/// so that adding a column is the schema's migration, this list and the codec.
struct SQLTable: Sendable {
    let name: String
    let columns: [String]

    init(_ name: String, _ columns: [String]) {
        self.name = name
        self.columns = columns
    }

    /// `INSERT INTO name (columns) VALUES (?, …)` for one or many rows; `conflict` follows
    /// (`ON CONFLICT DO NOTHING` by default: a retried batch writes nothing twice).
    func insert(conflict: String = "ON CONFLICT DO NOTHING") -> RowStatement {
        let head = "INSERT INTO \(name) (\(columns.joined(separator: ", "))) VALUES "
        let row = "(" + StoreSQL.placeholders(columns.count) + ")"
        let tail = conflict.isEmpty ? "" : " " + conflict
        return RowStatement(
            single: head + row + tail,
            many: { n in head + Array(repeating: row, count: n).joined(separator: ", ") + tail },
            width: columns.count
        )
    }

    /// `UPDATE name SET every other column = ? WHERE key = ?`: arguments in column order with
    /// the key's value moved last.
    func update(key: String) -> String {
        "UPDATE \(name) SET " + columns.filter { $0 != key }.map { "\($0) = ?" }.joined(separator: ", ") + " WHERE \(key) = ?"
    }

    /// Row arguments in ``columns`` order rearranged for ``update(key:)``.
    func updateArguments(_ row: [SQLArgument], key: String) -> [SQLArgument] {
        guard let index = columns.firstIndex(of: key) else { return row }
        var arguments = row
        let keyValue = arguments.remove(at: index)
        return arguments + [keyValue]
    }
}

/// A type stored as one row of one table: it owns the table's column list, writes its
/// arguments in that order and reads itself back from a row.
protocol StoredRow {
    static var table: SQLTable { get }
    var arguments: [SQLArgument] { get }
    init(row: SQLRow) throws
}

/// What the store asks of a database connection, SQLite's (``Database``) or PostgreSQL's
/// (``PostgresConnection``): statements with bound parameters, and write transactions that nest.
///
/// SQL is written once for both, with `?` (or `?N`) placeholders; where the two databases differ
/// the store asks ``dialect`` for the piece that does.
public protocol SQLConnection: AnyObject {
    /// Which database this is, for the SQL that differs.
    var dialect: SQLDialect { get }
    /// Where the connection goes, for messages: a file path, or a URI without its password.
    var description: String { get }
    /// Whether a transaction is open on this connection.
    var isInTransaction: Bool { get }
    /// Opens a write transaction (see ``writeTransaction(_:)``).
    func beginWriteTransaction() throws
    /// Ends the open transaction: commits it, or rolls it back.
    func endTransaction(commit: Bool) throws
    /// The schema version the database is at (0 for an empty one).
    var schemaVersion: Int { get throws }
    /// Creates or upgrades the schema from the embedded migrations; safe from many processes.
    func migrate() throws
    /// Runs statements that take no parameters.
    func execute(_ sql: String) throws
    /// Runs a statement with bound parameters; returns the number of rows it changed.
    @discardableResult
    func run(_ sql: String, _ values: [SQLValue]) throws -> Int
    /// Runs a query with bound parameters and maps each row.
    func query<Row>(_ sql: String, _ values: [SQLValue], row: (any SQLRow) throws -> Row) throws -> [Row]
}

/// One row of a query's result, read by column index.
public protocol SQLRow {
    func isNull(_ column: Int32) -> Bool
    func int64(_ column: Int32) -> Int64
    func text(_ column: Int32) -> String
}

extension SQLRow {
    public func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }
    public func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }
}

extension SQLConnection {
    /// Runs a statement that takes no parameters; returns the number of rows it changed.
    @discardableResult
    public func run(_ sql: String) throws -> Int { try run(sql, []) }

    /// Runs a query that takes no parameters and maps each row.
    public func query<Row>(_ sql: String, row: (any SQLRow) throws -> Row) throws -> [Row] { try query(sql, [], row: row) }

    /// Runs `body` in a write transaction, rolled back if it throws. Inside another one, `body`
    /// simply joins it, and an error rolls back the outer one.
    @discardableResult
    public func writeTransaction<Result>(_ body: () throws -> Result) throws -> Result {
        try transaction(begin: beginWriteTransaction, end: endTransaction(commit:), body)
    }

    /// Runs `body` between `begin` and `end` (committing, or rolling back if it throws), or
    /// inside the transaction already open.
    func transaction<Result>(
        begin: () throws -> Void, end: (_ commit: Bool) throws -> Void, _ body: () throws -> Result
    ) throws -> Result {
        if isInTransaction { return try body() }
        try begin()
        do {
            let result = try body()
            try end(true)
            return result
        } catch {
            try? end(false)
            throw error
        }
    }
}

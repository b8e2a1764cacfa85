/// What the store asks of a database connection, SQLite's (``Database``) or PostgreSQL's
/// (``PostgresConnection``): statements, and write transactions that nest.
public protocol SQLConnection: AnyObject {
    /// Whether a transaction is open on this connection.
    var isInTransaction: Bool { get }
    /// The statement that opens a write transaction.
    var beginWriteTransaction: String { get }
    /// Runs statements that take no parameters.
    func execute(_ sql: String) throws
}

extension SQLConnection {
    /// Runs `body` in a write transaction, rolled back if it throws. Inside another one, `body`
    /// simply joins it, and an error rolls back the outer one.
    @discardableResult
    public func writeTransaction<Result>(_ body: () throws -> Result) throws -> Result {
        if isInTransaction { return try body() }
        try execute(beginWriteTransaction)
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}

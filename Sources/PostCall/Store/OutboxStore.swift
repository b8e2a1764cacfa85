/// The outbox database: webservices, events and their attempts.
///
/// Every query the worker and the CLI run lives in this type's extensions, so the SQL sits next
/// to the schema it depends on.
public final class OutboxStore {
    public let database: Database

    /// Opens the database at `path`, migrating it first. Without `create`, a missing file is an
    /// error instead of a new, empty outbox that nobody else writes to (a mistyped `--db`).
    public init(path: String, create: Bool = true) throws {
        self.database = try Database(path: path, create: create)
    }

    /// This outbox's random identifier, made when its database was created: the first half of
    /// every Idempotency-Key.
    public func outboxID() throws -> String {
        guard let id = try database.query("SELECT outbox_id FROM outbox_meta", row: { $0.text(0) }).first else {
            throw PostCallError(.database, "database \(database.path) has no outbox id; run `postcall migrate`")
        }
        return id
    }

    /// Runs `body` in one write transaction: the store's calls inside it share a single commit.
    @discardableResult
    public func writeTransaction<Result>(_ body: () throws -> Result) throws -> Result {
        try database.writeTransaction(body)
    }

    /// Copies the write-ahead log into the database file and empties it, so old versions of
    /// erased private rows do not linger there. Waits at most 50 ms for other connections;
    /// returns `false` if they kept it from completing (try again later).
    public func scrubWriteAheadLog() throws -> Bool {
        try database.withBusyTimeout(milliseconds: 50) {
            let result = try database.query("PRAGMA wal_checkpoint(TRUNCATE)") { $0.int64(0) }
            return result.first == 0
        }
    }

    /// Inserts an event exactly as an IVR would, and returns its id.
    @discardableResult
    public func enqueue(webservice: String, callID: String, reason: String = "hangup", variablesJSON: String = "{}") throws
        -> Int64
    {
        let rows = try database.query(
            "INSERT INTO outbox (webservice, call_id, reason, variables) VALUES (?, ?, ?, ?) RETURNING id",
            [.text(webservice), .text(callID), .text(reason), .text(variablesJSON)]
        ) { $0.int64(0) }
        guard let id = rows.first else {
            throw PostCallError(.database, "inserting an event for \(webservice) returned no id")
        }
        return id
    }
}

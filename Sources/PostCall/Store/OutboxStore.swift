import Glibc

/// The outbox database: webservices, events and their attempts, on SQLite or PostgreSQL.
///
/// Every query the worker and the CLI run lives in this type's extensions, so the SQL sits next
/// to the schema it depends on. The SQL is the same for both databases except where
/// ``SQLDialect`` says otherwise; what to do with the rows is decided once, in Swift.
public final class OutboxStore {
    /// The connection every query runs on.
    public let database: any SQLConnection
    /// Where the outbox is.
    public let location: OutboxLocation
    let dialect: SQLDialect
    /// The claim's statements, written once for this store's dialect.
    let claimSQL: ClaimSQL

    /// Opens the SQLite outbox at `path`, migrating it first. Without `create`, a missing file is
    /// an error instead of a new, empty outbox that nobody else writes to (a mistyped `--db`).
    public convenience init(path: String, create: Bool = true) throws {
        try self.init(location: .sqlite(path: path), create: create)
    }

    /// Opens the outbox at `location`. A SQLite file is migrated on opening (and created if
    /// `create`). A PostgreSQL schema is migrated only by `postcall migrate`, which needs rights
    /// the workers' and the support staff's roles lack: here it must be current already.
    public init(location: OutboxLocation, create: Bool = false) throws {
        self.location = location
        switch location {
        case .sqlite(let path):
            database = try Database(path: path, create: create)
        case .postgres(let uri):
            let connection = try PostgresConnection(uri: uri)
            try connection.requireCurrentSchema()
            database = connection
        }
        dialect = database.dialect
        claimSQL = ClaimSQL(dialect)
    }

    /// This outbox's random identifier, made when its database was created: the first half of
    /// every Idempotency-Key.
    public func outboxID() throws -> String {
        guard let id = try database.query("SELECT outbox_id FROM outbox_meta", row: { $0.text(0) }).first else {
            throw PostCallError(.database, "database \(location) has no outbox id; run `postcall migrate`")
        }
        return id
    }

    /// Runs `body` in one write transaction: the store's calls inside it share a single commit.
    @discardableResult
    public func writeTransaction<Result>(_ body: () throws -> Result) throws -> Result {
        try database.writeTransaction(body)
    }

    /// Copies what it can of a SQLite outbox's write-ahead log into the database file, without
    /// waiting for or blocking any other connection. Right after this connection's commit, with
    /// nothing written since, that is the whole log: its next commit then starts the log over.
    /// Nothing to do on PostgreSQL.
    public func checkpointWriteAheadLog() throws {
        guard let database = database as? Database else { return }
        _ = try database.checkpoint(.passive)
    }

    /// Copies SQLite's write-ahead log into the database file and empties it, so old versions of
    /// erased private rows do not linger there. Waits at most 50 ms for other connections;
    /// returns `false` if they kept it from completing (try again later).
    ///
    /// PostgreSQL offers a client nothing like it: old row versions stay until vacuum reuses
    /// their space and the WAL until it is recycled (the README says what to set), so there this
    /// returns `true` at once.
    public func scrubWriteAheadLog() throws -> Bool {
        guard let database = database as? Database else { return true }
        // While another connection checkpoints (the worker's checkpointer, every 10 ms while the
        // log grows), SQLite gives up at once, without the busy handler: try again meanwhile.
        let deadline = Timestamp.monotonicNanoseconds() + 50_000_000
        while true {
            // Each try waits for readers only as long as the 50 ms allow.
            let left = Int32(clamping: (deadline - min(deadline, Timestamp.monotonicNanoseconds())) / 1_000_000)
            if try database.withBusyTimeout(milliseconds: max(1, left), { try database.checkpoint(.truncate).isComplete }) { return true }
            if Timestamp.monotonicNanoseconds() >= deadline { return false }
            usleep(1_000)
        }
    }

    /// A number that changes whenever another connection commits to a SQLite outbox (`PRAGMA
    /// data_version`); `nil` on PostgreSQL, whose notifications come after the commit.
    public func dataVersion() throws -> Int64? {
        guard dialect == .sqlite else { return nil }
        return try database.query("PRAGMA data_version") { $0.int64(0) }.first
    }

    /// Settings for a worker's connection. SQLite: the CHECK constraints guard what the IVR and
    /// operators write; the worker writes only states and outcomes from its own enums, and SQLite
    /// (3.40) checks each `IN (…)` by building a temporary b-tree for every row, 3 per delivered
    /// event. Its commits run no checkpoint (the worker's ``WALCheckpointer`` does), and the
    /// connection leaves the write lock free for a while after each of them, for the IVR.
    func prepareForWorker() throws {
        guard let database = database as? Database else { return }
        try database.execute("PRAGMA ignore_check_constraints = ON; PRAGMA wal_autocheckpoint = 0")
        database.writeLockPause = .worker
    }

    /// Settings for a connection that only reads a few counters now and then: a small cache.
    func prepareForMetrics() throws {
        if dialect == .sqlite { try database.execute("PRAGMA cache_size = -256") }
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

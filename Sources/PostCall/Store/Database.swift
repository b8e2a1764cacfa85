import Glibc
import PostCallCSQLite

/// One SQLite connection, used from one thread at a time.
///
/// Opens the file in WAL mode with a busy timeout, so the IVR's inserts and several workers can
/// share it: readers never block, and writers wait for each other instead of failing.
public final class Database: SQLConnection {
    let handle: OpaquePointer
    /// The file this connection opened.
    public let path: String
    public var description: String { path }
    public var dialect: SQLDialect { .sqlite }
    let busyTimeoutMilliseconds: Int32
    private var statements: [StatementKey: Statement] = [:]

    /// Opens the outbox at `path` (creating it if `create`) with its attempt log attached (see
    /// ``attemptLogPath(ofOutbox:)``), and brings both schemas up to date.
    public convenience init(path: String, create: Bool = true, busyTimeoutMilliseconds: Int32 = 10_000) throws {
        try self.init(openingPath: path, create: create, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        try migrate()
    }

    /// The file beside the outbox at `path` that holds its attempts (`schema/attempt_log/`),
    /// attached to the outbox's connections as `attempt_log`. Back it up with the outbox.
    public static func attemptLogPath(ofOutbox path: String) -> String { path + "-attempts" }

    /// Process-wide settings, applied once before the first connection opens.
    private static let libraryConfigured: Void = { _ = postcall_sqlite_skip_memory_statistics() }()

    init(openingPath path: String, create: Bool = true, busyTimeoutMilliseconds: Int32) throws {
        Self.libraryConfigured
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        if !create, code & 0xff == SQLITE_CANTOPEN, access(path, F_OK) != 0 {
            sqlite3_close_v2(handle)
            throw PostCallError(
                .database,
                "database \(path) does not exist; check --db or POSTCALL_DB, or create it with `postcall migrate --db \(path)`")
        }
        guard code == SQLITE_OK, let handle else {
            let reason = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(handle)
            throw PostCallError(
                .database, "cannot open database \(path): \(reason); check that the directory exists and is writable")
        }
        self.handle = handle
        self.path = path
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        sqlite3_extended_result_codes(handle, 1)
        postcall_sqlite_busy_timeout(handle, busyTimeoutMilliseconds)
        // NORMAL is durable in WAL mode against a crash of the process; a power cut may undo the
        // last outcomes, which only means a redelivery (at-least-once), never a lost event.
        try execute("PRAGMA synchronous = NORMAL")
        // Erased private data and deleted rows are overwritten with zeros, not left in free space.
        try execute("PRAGMA secure_delete = ON")
    }

    /// Changes how long this connection waits for a lock, for calls that must not block long.
    func withBusyTimeout<Result>(milliseconds: Int32, _ body: () throws -> Result) rethrows -> Result {
        postcall_sqlite_busy_timeout(handle, milliseconds)
        defer { postcall_sqlite_busy_timeout(handle, busyTimeoutMilliseconds) }
        return try body()
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more SQL statements that take no parameters.
    public func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard code == SQLITE_OK else {
            throw error(code, context: message.map { String(cString: $0) } ?? "running SQL")
        }
    }

    /// Runs a statement with bound parameters to completion and returns the number of rows changed.
    @discardableResult
    public func run(_ sql: String, _ values: [SQLValue]) throws -> Int {
        let statement = try prepared(sql)
        try statement.bind(values)
        while try statement.step() {}
        return Int(sqlite3_changes(handle))
    }

    /// Runs a query with bound parameters and maps each row.
    public func query<Row>(_ sql: String, _ values: [SQLValue], row: (any SQLRow) throws -> Row) throws -> [Row] {
        let statement = try prepared(sql)
        try statement.bind(values)
        defer { statement.reset() }
        var rows: [Row] = []
        while try statement.step() { rows.append(try row(statement)) }
        return rows
    }

    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Whether, and how long, this connection leaves the write lock free after each of its
    /// transactions before it takes the lock again (see ``WriteLockPause``); `nil` by default.
    /// A worker writing back to back held the lock a third of the time, so an IVR insert often
    /// lost three or four looks in a row (p99 22 to 84 ms while a worker drained a backlog to
    /// nginx, measured).
    var writeLockPause: WriteLockPause?
    /// When the last transaction took the lock and when it ended (monotonic nanoseconds).
    private var lastTransaction: (began: UInt64, ended: UInt64) = (0, 0)

    /// IMMEDIATE takes the write lock up front, so a busy database makes us wait at BEGIN (where
    /// the busy timeout applies) rather than fail halfway through with a deadlock.
    public func beginWriteTransaction() throws {
        if let writeLockPause {
            let hold = lastTransaction.ended > lastTransaction.began ? (lastTransaction.ended - lastTransaction.began) / 1_000 : 0
            let pause = writeLockPause.microseconds(afterHolding: hold)
            let elapsed = (Timestamp.monotonicNanoseconds() - lastTransaction.ended) / 1_000
            if elapsed < pause { usleep(useconds_t(pause - elapsed)) }
        }
        try execute("BEGIN IMMEDIATE")
        lastTransaction.began = Timestamp.monotonicNanoseconds()
    }

    public func endTransaction(commit: Bool) throws {
        defer { lastTransaction.ended = Timestamp.monotonicNanoseconds() }
        try execute(commit ? "COMMIT" : "ROLLBACK")
    }

    /// Runs `body` in a transaction that takes each file's write lock only when it first writes
    /// there (`BEGIN IMMEDIATE` takes every attached file's), so writing the attempt log leaves
    /// the outbox's lock to the IVR. `body` must write the attempt log before it reads it: after
    /// a read, another connection's commit makes the first write fail at once instead of
    /// waiting. Not a write transaction for ``writeLockPause``. Inside an open transaction,
    /// `body` joins it.
    func attemptLogTransaction<Result>(_ body: () throws -> Result) throws -> Result {
        try transaction(begin: { try execute("BEGIN") }, end: { try execute($0 ? "COMMIT" : "ROLLBACK") }, body)
    }

    func prepared(_ sql: String) throws -> Statement {
        let key = StatementKey(sql: sql)
        if let statement = statements[key] { return statement }
        let statement = try Statement(database: self, sql: sql)
        statements[key] = statement
        return statement
    }

    /// A statement's text as the cache's key, hashed by its length alone. Hashing all of it
    /// (often 300 bytes and more) twice per delivered event cost 3,500 instructions an event
    /// (callgrind); the few dozen statements rarely share a length, equality still compares the
    /// text, and the same literal compares by its address first.
    private struct StatementKey: Hashable {
        let sql: String

        func hash(into hasher: inout Hasher) {
            hasher.combine(sql.utf8.count)
        }

        static func == (left: StatementKey, right: StatementKey) -> Bool { left.sql == right.sql }
    }

    /// Bytes available to us on the filesystem holding `path`, or `nil` if that cannot be told.
    static func freeBytes(near path: String) -> UInt64? {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
        var stats = statvfs()
        guard statvfs(directory.isEmpty ? "." : directory, &stats) == 0 else { return nil }
        return UInt64(stats.f_bavail) * UInt64(stats.f_frsize)
    }

    func error(_ code: Int32, context: String) -> PostCallError {
        let detail = String(cString: sqlite3_errmsg(handle))
        let primary = code & 0xff
        // A full disk often surfaces as an I/O error (creating the -wal or -shm file fails).
        if primary == SQLITE_FULL || (primary == SQLITE_IOERR && Self.freeBytes(near: path) == 0) {
            return PostCallError(
                .diskFull, "disk full writing \(path) (\(context)); free space on its filesystem, the worker retries every second")
        }
        switch primary {
        case SQLITE_BUSY, SQLITE_LOCKED:
            return PostCallError(
                .databaseBusy,
                "database \(path) stayed locked by another connection longer than the busy timeout (\(context): \(detail))")
        case SQLITE_READONLY, SQLITE_PERM, SQLITE_CANTOPEN:
            return PostCallError(
                .readOnly,
                "cannot write database \(path) (\(context): \(detail)); the file, its -wal and -shm files and its directory must be writable")
        case SQLITE_CONSTRAINT:
            return PostCallError(.invalidInput, "rejected by the database: \(detail)")
        default:
            return PostCallError(.database, "database \(path): \(context): \(detail)")
        }
    }
}

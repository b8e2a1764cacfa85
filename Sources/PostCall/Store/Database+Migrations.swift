import Glibc

extension Database {
    /// The schema version recorded in the file (`PRAGMA user_version`).
    public var schemaVersion: Int {
        get throws { Int(try query("PRAGMA user_version") { $0.int64(0) }.first ?? 0) }
    }

    /// Creates or upgrades the schema to the latest version. Safe to run from several processes
    /// at once: the version is read and the steps applied inside one write transaction.
    public func migrate() throws {
        // Switching a new file to WAL needs an exclusive lock, and SQLite reports a competing
        // process's lock at once there instead of calling the busy handler: so wait here.
        let deadline = Timestamp.monotonicNanoseconds() + 30_000_000_000
        while true {
            do {
                return try migrateOnce()
            } catch let error as PostCallError where error.code == .databaseBusy && Timestamp.monotonicNanoseconds() < deadline {
                usleep(UInt32.random(in: 5_000...25_000))
            }
        }
    }

    private func migrateOnce() throws {
        try switchToWriteAheadLog()
        try attachAttemptLog()
        try apply(Migration.attemptLog, to: "attempt_log")
        try apply(Migration.all, to: "main")
        try moveAttemptsToTheirFile()
    }

    /// Puts this connection's file in WAL mode. `journal_mode` cannot change inside a
    /// transaction; once WAL is set it stays with the file.
    private func switchToWriteAheadLog() throws {
        let mode = try query("PRAGMA journal_mode = WAL") { $0.text(0) }.first
        if mode != "wal" {
            throw PostCallError(
                .database, "database \(path) could not switch to WAL mode (it is in \(mode ?? "unknown") mode)")
        }
    }

    /// Applies the steps of `migrations` newer than `schema`'s `user_version`, in one write
    /// transaction with the version.
    private func apply(_ migrations: [Migration], to schema: String) throws {
        let latest = migrations.map(\.version).max() ?? 0
        let version = { Int(try self.query("PRAGMA \(schema).user_version") { $0.int64(0) }.first ?? 0) }
        guard try version() != latest else { return }
        let file = schema == "main" ? path : Self.attemptLogPath(ofOutbox: path)
        try writeTransaction {
            let current = try version()
            if current > latest {
                throw PostCallError(
                    .schemaTooNew,
                    "database \(file) has schema version \(current), newer than this postcall understands (\(latest)); run a newer postcall")
            }
            for migration in migrations where migration.version > current {
                do {
                    try execute(migration.sql)
                } catch let error as PostCallError {
                    throw PostCallError(error.code, "migration \(migration.name) of \(file) failed: \(error.message)")
                }
                try execute("PRAGMA \(schema).user_version = \(migration.version)")
            }
        }
    }

    /// Attaches the attempt log (see ``attemptLogPath(ofOutbox:)``), creating it in WAL mode if
    /// it is new: through a connection of its own, since this one may not create files (opened
    /// without `create`) and cannot switch an attached file's mode inside a transaction.
    private func attachAttemptLog() throws {
        guard try query("SELECT 1 FROM pragma_database_list WHERE name = 'attempt_log'", row: { _ in true }).isEmpty else {
            return
        }
        let logPath = Self.attemptLogPath(ofOutbox: path)
        try Database(openingPath: logPath, create: true, busyTimeoutMilliseconds: busyTimeoutMilliseconds).switchToWriteAheadLog()
        try run("ATTACH DATABASE ? AS attempt_log", [.text(logPath)])
        // Per file: the attached one does not take these from the outbox's connection.
        try execute("PRAGMA attempt_log.synchronous = NORMAL; PRAGMA attempt_log.secure_delete = ON")
    }

    /// Schema version 10 renamed the outbox's own `attempts` table: its rows are copied into the
    /// attempt log, then it is dropped, each in its own transaction (see
    /// `schema/0010_attempts_own_file.sql`). Copying again after a crash skips the rows already
    /// there.
    private func moveAttemptsToTheirFile() throws {
        let exists = {
            try !self.query("SELECT 1 FROM main.sqlite_master WHERE name = 'attempts_moved'", row: { _ in true }).isEmpty
        }
        guard try exists() else { return }
        try attemptLogTransaction {
            guard try exists() else { return }
            try execute(
                """
                INSERT OR IGNORE INTO attempt_log.attempts
                    (id, event_id, attempt, worker, started_at, duration_ms, outcome, http_status, error, request, response)
                SELECT id, event_id, attempt, worker, started_at, duration_ms, outcome, http_status, error, request, response
                FROM main.attempts_moved
                """)
        }
        try writeTransaction { try execute("DROP TABLE IF EXISTS main.attempts_moved") }
    }
}

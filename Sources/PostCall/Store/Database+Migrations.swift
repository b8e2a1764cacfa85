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
        // journal_mode cannot change inside a transaction; once WAL is set it stays with the file.
        let mode = try query("PRAGMA journal_mode = WAL") { $0.text(0) }.first
        if mode != "wal" {
            throw PostCallError(
                .database, "database \(path) could not switch to WAL mode (it is in \(mode ?? "unknown") mode)")
        }
        guard try schemaVersion != Migration.latestVersion else { return }
        try writeTransaction {
            let current = try schemaVersion
            if current > Migration.latestVersion {
                throw PostCallError(
                    .schemaTooNew,
                    "database \(path) has schema version \(current), newer than this postcall understands (\(Migration.latestVersion)); run a newer postcall")
            }
            for migration in Migration.all where migration.version > current {
                do {
                    try execute(migration.sql)
                } catch let error as PostCallError {
                    throw PostCallError(error.code, "migration \(migration.name) failed: \(error.message)")
                }
                try execute("PRAGMA user_version = \(migration.version)")
            }
        }
    }
}

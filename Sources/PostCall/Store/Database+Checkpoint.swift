extension Database {
    /// How a checkpoint copies the write-ahead log into the database file (SQLite's modes).
    enum CheckpointMode: String {
        /// Copies what it can without waiting for, or blocking, any other connection.
        case passive = "PASSIVE"
        /// Waits for writers and readers so that the next writer starts the log over.
        case restart = "RESTART"
        /// As `restart`, and empties the log file.
        case truncate = "TRUNCATE"
    }

    /// What a checkpoint did (`PRAGMA wal_checkpoint`'s row).
    struct CheckpointResult {
        /// Every frame was copied: no other connection kept the checkpoint from finishing.
        let isComplete: Bool
        /// Frames in the log when it ran.
        let logFrames: Int64
    }

    /// Copies the write-ahead log into the database file as `mode` says.
    func checkpoint(_ mode: CheckpointMode) throws -> CheckpointResult {
        let rows = try query("PRAGMA wal_checkpoint(\(mode.rawValue))") {
            CheckpointResult(isComplete: $0.int64(0) == 0, logFrames: $0.int64(1))
        }
        guard let result = rows.first else { throw PostCallError(.database, "PRAGMA wal_checkpoint returned no row") }
        return result
    }
}

import Glibc
import Synchronization

/// Copies a SQLite outbox's write-ahead log back into the database on a thread of its own, every
/// 100 ms, so the worker's commits do not: SQLite would otherwise run a checkpoint inside the
/// commit that crosses 1,000 pages of log, on the worker's loop (1 to 3 µs per event, measured).
/// Passive checkpoints never wait for, nor block, the worker or the IVR.
final class WALCheckpointer: @unchecked Sendable {
    static let interval: useconds_t = 100_000
    // Used on the checkpointer's thread only, once it started.
    private let database: Database
    private let stopping = Atomic<Bool>(false)
    private var thread: pthread_t?

    /// Opens its own connection to the database at `path`.
    init(path: String) throws {
        database = try Database(path: path, create: false)
    }

    func start() {
        guard thread == nil else { return }
        thread = POSIXThread.start { [self] in run() }
    }

    /// Stops the thread (within one interval) and waits for it.
    func stop() {
        guard let running = thread else { return }
        stopping.store(true, ordering: .sequentiallyConsistent)
        pthread_join(running, nil)
        thread = nil
    }

    private func run() {
        while !stopping.load(ordering: .sequentiallyConsistent) {
            usleep(Self.interval)
            // A failure (the disk full, the file gone) is the worker's to report from its own
            // commits; the next interval tries again.
            _ = try? database.query("PRAGMA wal_checkpoint(PASSIVE)") { $0.int64(0) }
        }
    }
}

import Glibc
import Synchronization

/// Copies a SQLite outbox's write-ahead log back into the database on a thread of its own, every
/// 25 ms while the log grows (every 100 ms while it does not), so the worker's commits do not: SQLite would otherwise run a checkpoint inside the
/// commit that crosses 1,000 pages of log, on the worker's loop (1 to 3 µs per event, measured).
/// Passive checkpoints never wait for, nor block, the worker or the IVR.
///
/// A busy worker commits again before a passive checkpoint has copied all of the log, so the log
/// would never start over: it grew by 80 MB a second for as long as a backlog lasted (measured),
/// and every IVR commit, finding more than 1,000 pages of log, ran a checkpoint of its own. So
/// past ``restartFrames`` a restarting checkpoint follows the passive one: it holds writers back
/// (briefly: the passive one left a few frames to copy) so that the next commit starts the log
/// over from its beginning.
final class WALCheckpointer: @unchecked Sendable {
    /// While the log grows: each checkpoint then has less to copy and to sync, and so has the
    /// IVR's next commit (its `fsync` of the log writes what the worker wrote since the last one).
    static let busyInterval: useconds_t = 25_000
    static let idleInterval: useconds_t = 100_000
    /// Below SQLite's default automatic checkpoint (1,000 pages), which the IVR's connection keeps.
    static let restartFrames: Int64 = 500
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
        var interval = Self.idleInterval
        var framesBefore: Int64 = 0
        while !stopping.load(ordering: .sequentiallyConsistent) {
            usleep(interval)
            // A failure (the disk full, the file gone) is the worker's to report from its own
            // commits; the next interval tries again.
            guard let frames = try? database.query("PRAGMA wal_checkpoint(PASSIVE)", row: { $0.int64(1) }).first else {
                continue
            }
            let grew = frames != framesBefore
            framesBefore = frames
            interval = grew ? Self.busyInterval : Self.idleInterval
            // A log that stopped growing starts over at the next commit by itself.
            guard grew, frames >= Self.restartFrames else { continue }
            // At most a few milliseconds: the worker's commits and the IVR's inserts wait meanwhile.
            _ = try? database.withBusyTimeout(milliseconds: 5) {
                try database.query("PRAGMA wal_checkpoint(RESTART)") { $0.int64(0) }
            }
        }
    }
}

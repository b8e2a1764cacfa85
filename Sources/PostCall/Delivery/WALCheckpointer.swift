import Glibc
import Synchronization

/// Copies a SQLite outbox's write-ahead log back into the database on a thread of its own, so
/// the worker's commits do not: SQLite would otherwise run a checkpoint inside the commit that
/// crosses 1,000 pages of log, on the worker's loop (1 to 3 µs per event, measured). Passive
/// checkpoints never wait for, nor block, the worker or the IVR.
///
/// A busy worker commits again before such a checkpoint has copied all of the log, so the log
/// never started over: it grew by about 2.5 KB per delivered event for as long as a backlog
/// lasted (415 MB in 5 s to nginx, measured). Past ``restartFrames`` the checkpointer asks the
/// worker to checkpoint right after its next commit (``takeRestartRequest()``): that copies the
/// rest of the log, and the worker's following commit starts it over. A restarting checkpoint
/// here would do the same but hold every writer, the IVR's inserts included, for its two syncs
/// (IVR insert p99 6 to 10 ms without it, 9 to 20 ms with it, measured). With several workers on
/// one file the others write during that checkpoint too, so past ``forcedRestartFrames`` the
/// checkpointer does hold them back, once, briefly (two workers: 195 MB of log for 200,000
/// events without it, measured).
///
/// The log is kept under the 1,000 pages past which the IVR's own connection (SQLite's default)
/// checkpoints inside its insert's commit: a worker draining to nginx adds about 7 pages a
/// millisecond, so it is checked every 10 ms while it grows and started over past 400 pages.
/// Started over only past 4,096 and checked every 100 ms, the IVR's commits copied hundreds of
/// pages and synced twice (measured, 5 s of inserts every 5 ms while a worker drained to nginx):
/// an insert that met no lock p99 6.2 to 6.5 ms, against 3.2 to 3.5 ms; all inserts p99 6.5 to
/// 6.8 ms, against 4.1 to 5.2 ms; events/s the same within the noise.
final class WALCheckpointer: @unchecked Sendable {
    /// Between checks while the log grows.
    static let busyInterval: useconds_t = 10_000
    /// Between checks while it stays the same (an idle outbox): short enough that a backlog
    /// arriving meanwhile adds fewer than 500 pages.
    static let idleInterval: useconds_t = 50_000
    /// 1.6 MiB of log: a restart asked for is done two commits later, and sometimes later still
    /// (a reader keeps the log going meanwhile), so the log still reaches 800 pages or so.
    static let restartFrames: Int64 = 400
    /// 64 MiB of log.
    static let forcedRestartFrames: Int64 = 16_384
    private let restartWanted = Atomic<Bool>(false)
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

    /// Whether the log has grown long enough to start over (see above); asks once.
    func takeRestartRequest() -> Bool {
        restartWanted.exchange(false, ordering: .sequentiallyConsistent)
    }

    private func run() {
        var interval = Self.busyInterval
        var framesBefore: Int64 = -1
        while !stopping.load(ordering: .sequentiallyConsistent) {
            usleep(interval)
            // A failure (the disk full, the file gone) is the worker's to report from its own
            // commits; the next interval tries again.
            guard let frames = try? database.checkpoint(.passive).logFrames else { continue }
            interval = frames == framesBefore ? Self.idleInterval : Self.busyInterval
            framesBefore = frames
            guard frames >= Self.restartFrames else { continue }
            restartWanted.store(true, ordering: .sequentiallyConsistent)
            guard frames >= Self.forcedRestartFrames else { continue }
            // Writers wait meanwhile, the IVR's inserts too: at most a few milliseconds.
            _ = try? database.withBusyTimeout(milliseconds: 5) { try database.checkpoint(.restart) }
        }
    }
}

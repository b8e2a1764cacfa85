import Glibc
import PostCallCSystem

/// Runs the worker's store exchanges, one at a time, on a thread of its own, so a busy worker's
/// loop drives its transfers while the store records the last outcomes and claims the next
/// events (two cores do both at once; one did them in turn).
///
/// The loop hands over a job and never touches what it uses (the store above all) until
/// ``collect()`` or ``wait()`` says it finished; the semaphores order the memory between the
/// two threads. When a job finishes, `finished` is called on this thread (to wake the loop).
///
/// A job runs off the CPU the loop handed it over from (when the process may use more than
/// one): woken by the loop, the thread was otherwise often placed on the loop's CPU, and the two
/// took turns there (runnable there together in about a quarter of the samples where this
/// thread ran). A small gain, measured: about 4 % more events/s to nginx, in 7 of 8 interleaved
/// pairs. The loop itself stays free to move.
final class StoreThread: @unchecked Sendable {
    private let jobReady: UnsafeMutablePointer<sem_t>
    private let jobDone: UnsafeMutablePointer<sem_t>
    private let finished: () -> Void
    /// Written by the loop before `jobReady` is posted, read here after it; `nil` stops the thread.
    private var job: (() -> Void)?
    /// The CPU the loop ran on when it handed `job` over (-1 unknown); written and read like `job`.
    private(set) var loopCPU: Int32 = -1
    // This thread's alone.
    private var avoidedCPU: Int32 = -1
    // The loop's alone.
    private var thread: pthread_t?
    /// A job was handed over and not yet collected.
    private var outstanding = false

    init(finished: @escaping () -> Void) {
        jobReady = .allocate(capacity: 1)
        jobDone = .allocate(capacity: 1)
        sem_init(jobReady, 0, 0)
        sem_init(jobDone, 0, 0)
        self.finished = finished
    }

    deinit {
        stop()
        sem_destroy(jobReady)
        sem_destroy(jobDone)
        jobReady.deallocate()
        jobDone.deallocate()
    }

    /// Starts the thread; `false` if the system refused one (jobs cannot be handed over then).
    func start() -> Bool {
        if thread == nil { thread = POSIXThread.start { [self] in run() } }
        return thread != nil
    }

    /// Hands `job` to the thread. Only when it is started and not busy.
    func submit(_ job: @escaping () -> Void) {
        self.job = job
        loopCPU = postcall_current_cpu()
        outstanding = true
        sem_post(jobReady)
    }

    /// Whether the job handed over has finished (or none was); does not block.
    func collect() -> Bool {
        guard outstanding else { return true }
        guard sem_trywait(jobDone) == 0 else { return false }
        outstanding = false
        return true
    }

    /// Blocks until the job handed over, if any, has finished.
    func wait() {
        guard outstanding else { return }
        while sem_wait(jobDone) != 0 && errno == EINTR {}
        outstanding = false
    }

    /// Lets the job handed over finish, then ends the thread and waits for it.
    func stop() {
        guard let running = thread else { return }
        wait()
        job = nil
        sem_post(jobReady)
        pthread_join(running, nil)
        thread = nil
    }

    private func run() {
        while true {
            while sem_wait(jobReady) != 0 && errno == EINTR {}
            guard let job else { return }
            if loopCPU != avoidedCPU {
                // A failure leaves the thread where the scheduler puts it: slower, not wrong.
                _ = postcall_keep_thread_off_cpu(loopCPU)
                avoidedCPU = loopCPU
            }
            job()
            sem_post(jobDone)
            finished()
        }
    }
}

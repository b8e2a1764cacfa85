/// One turn of a worker with its store: the finished outcomes to record and the events to claim,
/// in one transaction when both are due (the two touch the same pages, the leases' index above
/// all, and each commit writes its pages to the log once); then what the store answered.
///
/// Made on the worker's loop from values it copied, run there or on its ``StoreThread``, read
/// back on the loop. Nothing in it refers to the loop's own state.
final class StoreExchange: @unchecked Sendable {
    let records: [AttemptRecord]
    /// Events to claim; 0 only records.
    let claimLimit: Int
    let now: Milliseconds
    /// Whether the outbox changed since the last claim (a wake-up, not a timer).
    let databaseChanged: Bool
    private let owner: String
    private let leaseGrace: Milliseconds
    private let breaker: CircuitBreaker
    private let perWebserviceLimit: Int
    private let inFlight: [String: Int]
    /// The last claim filled every slot: skip the read that looks for due events first.
    private let assumeDue: Bool
    /// Checkpoint the log right after committing (see ``WALCheckpointer``).
    private let checkpointAfter: Bool

    /// The records another worker's lease made stale (logged, their outcomes not applied).
    private(set) var lost: [AttemptRecord] = []
    private(set) var claimed: [ClaimedEntry] = []
    /// When the next pending event falls due, read when the claim took fewer than it could.
    private(set) var nextDue: Milliseconds?
    /// The outbox's data version (``OutboxStore/dataVersion()``) read right after such a claim
    /// committed, on the same thread: a commit of another connection that the claim missed
    /// changes it later. (Read by the loop after collecting, a commit in between would go unnoticed.)
    private(set) var dataVersionAfterClaim: Int64?
    /// The configuration fingerprint of each claimed event's webservice (see
    /// ``OutboxStore/webserviceFingerprint(named:)``), `nil` for one that is gone, so starting
    /// the claimed events reads nothing more; a name is absent if that read failed.
    private(set) var fingerprints: [String: String?] = [:]
    /// Why the store refused; then nothing was recorded or claimed.
    private(set) var failure: (any Error)?

    init(
        records: [AttemptRecord], claimLimit: Int, now: Milliseconds, databaseChanged: Bool, configuration: WorkerConfiguration,
        inFlight: [String: Int], assumeDue: Bool, checkpointAfter: Bool
    ) {
        self.records = records
        self.claimLimit = claimLimit
        self.now = now
        self.databaseChanged = databaseChanged
        self.owner = configuration.workerID
        self.leaseGrace = configuration.leaseGrace
        self.breaker = configuration.circuitBreaker
        self.perWebserviceLimit = configuration.webserviceConcurrency
        self.inFlight = inFlight
        self.assumeDue = assumeDue
        self.checkpointAfter = checkpointAfter
    }

    /// Records and claims; the answer (or the failure) is left in this exchange.
    func run(on store: OutboxStore) {
        let exchange = {
            if !self.records.isEmpty { self.lost = try store.applyOutcomes(of: self.records, now: self.now, breaker: self.breaker) }
            guard self.claimLimit > 0 else { return }
            self.claimed = try store.claim(
                owner: self.owner, limit: self.claimLimit, now: self.now, leaseGrace: self.leaseGrace,
                perWebserviceLimit: self.perWebserviceLimit, inFlight: self.inFlight, assumeDue: self.assumeDue)
        }
        do {
            // Without outcomes to write, claim() looks before it takes the write lock the IVR needs.
            // The attempts go to their own file first, outside that lock.
            if records.isEmpty { try exchange() } else { try store.logAttempts(records); try store.writeTransaction(exchange) }
        } catch {
            // Rolled back: whatever the closure had set did not happen.
            lost = []
            claimed = []
            failure = error
            return
        }
        // Read after the commit, so the IVR does not wait on them for the write lock. Claimed
        // events must reach the loop even if one of these reads fails: none of them is fatal.
        if claimLimit > 0, claimed.count < claimLimit {
            nextDue = (try? store.nextDueTime()) ?? .max
            dataVersionAfterClaim = try? store.dataVersion()
        }
        for name in Set(claimed.map(\.webservice)) {
            // Whoever starts the event reads it again and reports.
            do { fingerprints[name] = try store.webserviceFingerprint(named: name) } catch {}
        }
        // Not this exchange's to fail: the checkpointer asks again.
        if checkpointAfter { try? store.checkpointWriteAheadLog() }
    }
}

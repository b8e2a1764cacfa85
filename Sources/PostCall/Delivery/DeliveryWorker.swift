import Glibc
import Logging
import PostCallCCurl
import Synchronization

/// Claims due events and delivers them through one libcurl multi loop on the calling thread.
///
/// The loop: claim due events for the free transfer slots and some ahead of them (see
/// `claimedAhead`), start their requests as slots allow, let libcurl drive them all, record the
/// finished ones in one transaction, then sleep until a transfer needs attention, the database
/// changes, or the next retry falls due. While transfers run, that transaction (with the next
/// claim) runs on a ``StoreThread``, one at a time. What an outcome means is decided by
/// ``DeliveryDecider``; this type only performs its actions.
public final class DeliveryWorker {
    /// Used on the loop through ``store``, and by the store thread while an exchange is under way.
    private let outbox: OutboxStore
    private let configuration: WorkerConfiguration
    private let decider: DeliveryDecider
    private let outboxID: String
    private let logger: Logger
    private let multi: CurlMulti
    private let notifier: (any OutboxChangeNotifier)?
    private let stopSignal: StopSignal
    private let metrics = WorkerMetrics()
    private let metricsEndpoint: MetricsEndpoint?
    private let fileAccess: FileAccess
    /// Copies a SQLite outbox's log back into the database off the loop.
    private let checkpointer: WALCheckpointer?
    private var random = SystemRandomNumberGenerator()

    private var active: [UnsafeMutableRawPointer: ActiveTransfer] = [:]
    private var activeByWebservice: [String: Int] = [:]
    private var idleTransfers: [HTTPTransfer] = []
    /// Claimed events waiting for a free slot (see ``claimedAhead``).
    private var waiting = WaitingEvents()
    /// The webservices with a transfer finished since the last claim was sent (see ``claimCounts``).
    private var finishedSinceClaim: Set<String> = []
    private var unrecorded: [AttemptRecord] = []
    /// The outbox, for the loop: an exchange under way on the store thread finishes first (a
    /// connection serves one thread at a time). The hot path never waits: an exchange carries
    /// what starting its claimed events needs.
    private var store: OutboxStore {
        storeThread.wait()
        return outbox
    }
    /// Takes the store exchanges of a busy worker (see ``StoreThread``).
    private let storeThread: StoreThread
    private var storeThreadStarted = false
    /// The exchange under way on the store thread: until it is collected, the loop leaves the
    /// store alone (its connection is not shared between threads).
    private var pendingExchange: StoreExchange?
    /// The outbox changed while an exchange was under way.
    private var changedDuringExchange = false
    private var templates: [String: CompiledWebservice] = [:]
    private var nextClaimAt: Milliseconds = 0
    /// The outbox's data version read before this worker's last claim, if that claim was made
    /// while idle (SQLite only): a commit of another connection after it is either seen by that
    /// claim or changes the version. (A busy worker claims often and reads the version only
    /// after a claim came up empty.)
    private var dataVersionBeforeClaim: Int64?
    /// A claim came up empty after a change: the version read right after that claim, when, and
    /// until when to look again while the version stays the same (see lookAgainForUnseenCommit).
    private var unseenCommit: (version: Int64, since: Milliseconds, until: Milliseconds)?
    /// The last wake-up claimed without first waiting for a commit to show, and found nothing:
    /// wait for it now, then claim once more (see awaitVisibleCommit()).
    private var awaitCommitAndClaimAgain = false
    /// Whether the current wake-up already waited for a commit to show.
    private var waitedForCommit = false
    /// The last claim filled every free slot, so more events are probably due.
    private var backlogRemains = false
    private var outage = StoreOutage()
    /// Erased private data may linger in the write-ahead log (this worker's or another's doing).
    private var scrubPending = true
    private var lastScrub: Milliseconds = 0
    /// When to look next for events to run alone, and whether some wait.
    private var nextAloneCheck: Milliseconds = 0
    private var eventsWaitToRunAlone = false
    /// Nothing in flight, to record, or under way with the store.
    private var isIdle: Bool { active.isEmpty && waiting.isEmpty && unrecorded.isEmpty && pendingExchange == nil }
    /// An event that lost a lease before is in flight, alone (so nothing else is).
    private var runningAlone: Bool { active.count == 1 && active.values.first?.entry.isSolo == true }

    private struct ActiveTransfer {
        let transfer: HTTPTransfer
        let entry: ClaimedEntry
        let compiled: CompiledWebservice
        /// The request in flight: the first, or the one a redirect led to.
        let request: HTTPRequest
        /// Its uploads, open while it runs.
        let files: [UploadFile]
        let timing: Timing
        let redirectsFollowed: Int
    }

    /// A handle that stops the worker from another thread (a signal handler's queue).
    public final class StopSignal: Sendable {
        private let requested = Atomic<Bool>(false)
        private let waker: MultiWaker

        struct MultiWaker: @unchecked Sendable {
            // curl_multi_wakeup is documented as callable from any thread.
            let wake: () -> Void
        }

        init(waker: MultiWaker) { self.waker = waker }

        /// Asks the worker to stop claiming, finish its transfers and return from `run()`.
        public func requestStop() {
            requested.store(true, ordering: .sequentiallyConsistent)
            waker.wake()
        }

        var isRequested: Bool { requested.load(ordering: .sequentiallyConsistent) }
    }

    public init(store: OutboxStore, configuration: WorkerConfiguration, logger: Logger) throws {
        guard configuration.concurrency >= 1 else {
            throw PostCallError(.invalidInput, "--concurrency must be at least 1")
        }
        try store.prepareForWorker()
        self.outbox = store
        self.configuration = configuration
        self.decider = DeliveryDecider(retryPolicy: configuration.retryPolicy, crashLimit: configuration.crashLimit)
        self.outboxID = try store.outboxID()
        self.fileAccess = FileAccess(directories: configuration.fileDirectories, outbox: store.location)
        self.logger = logger
        let multi = try CurlMulti(maximumConnections: configuration.concurrency)
        self.multi = multi
        switch store.location {
        case .sqlite(let path):
            self.notifier = WriteAheadLogWatcher(databasePath: path)
            self.checkpointer = try WALCheckpointer(path: path)
        case .postgres(let uri):
            self.notifier = try PostgresChangeListener(uri: uri)
            self.checkpointer = nil
        }
        self.metricsEndpoint = try configuration.metricsPort.map {
            try MetricsEndpoint(host: configuration.metricsHost, port: $0, outbox: store.location)
        }
        self.stopSignal = StopSignal(waker: .init(wake: { [unowned multi] in multi.wakeUp() }))
        self.storeThread = StoreThread(finished: { [unowned multi] in multi.wakeUp() })
    }

    /// How the worker learns of new events, for its start-up line.
    private var wakeup: String {
        switch notifier {
        case is WriteAheadLogWatcher: "inotify"
        case is PostgresChangeListener: "listen"
        default: "poll"
        }
    }

    /// The handle to stop this worker with.
    public var stopHandle: StopSignal { stopSignal }

    /// Runs until ``StopSignal/requestStop()``; returns once every transfer has finished or been
    /// interrupted and every outcome is recorded (or, if the database refuses, left to the lease).
    public func run() {
        logger.info(
            "worker started",
            metadata: [
                "worker": "\(configuration.workerID)", "concurrency": "\(configuration.concurrency)",
                "db": "\(store.location)", "wakeup": "\(wakeup)",
                "files_dirs": "\(fileAccess.directories.joined(separator: ":"))",
                "deny_networks": "\(configuration.networkPolicy.denied.map(\.description).joined(separator: ","))",
                "allow_networks": "\(configuration.networkPolicy.allowed.map(\.description).joined(separator: ","))",
            ])
        if !configuration.networkPolicy.denied.isEmpty, let proxy = HTTPTransfer.proxyVariableSet {
            logger.warning(
                "a proxy is set in the environment; deliveries go straight to the receivers instead, since --deny-networks checks each receiver's own address",
                metadata: ["variable": "\(proxy)"])
        }
        for directory in fileAccess.directories where access(directory, R_OK | X_OK) != 0 {
            logger.warning(
                "a folder files are read from is missing or unreadable; uploads from it fail until it is there",
                metadata: ["files_dir": "\(directory)"])
        }
        if let metricsEndpoint {
            metricsEndpoint.start(metrics)
            logger.info("metrics listening", metadata: ["address": "http://\(configuration.metricsHost):\(metricsEndpoint.port)/metrics"])
        }
        defer { metricsEndpoint?.stop() }
        checkpointer?.start()
        defer { checkpointer?.stop() }
        storeThreadStarted = storeThread.start()
        defer { storeThread.stop() }
        var drainDeadline: UInt64?
        var databaseChanged = true
        while true {
            if drainDeadline == nil, stopSignal.isRequested {
                drainDeadline = Timestamp.monotonicNanoseconds() + UInt64(configuration.drainTimeout) * 1_000_000
                logger.info("worker stopping", metadata: ["in_flight": "\(active.count)"])
            }
            if let deadline = drainDeadline {
                if active.isEmpty && waiting.isEmpty && pendingExchange == nil { break }
                if Timestamp.monotonicNanoseconds() >= deadline {
                    interruptAll()
                    release(waiting.removeAll(), because: "the worker stopped before they started")
                }
            }
            multi.perform()
            for (easy, result) in multi.finishedTransfers() { finish(easy: easy, result: result) }
            startWaiting()
            if let exchange = pendingExchange {
                // A change seen meanwhile is for the next claim to answer.
                changedDuringExchange = changedDuringExchange || databaseChanged
                if storeThread.collect() {
                    pendingExchange = nil
                    finishExchange(exchange)
                }
            }
            if pendingExchange == nil {
                exchangeWithStore(databaseChanged: databaseChanged || changedDuringExchange, draining: drainDeadline != nil)
                changedDuringExchange = false
            }
            // The store is the store thread's while an exchange runs there.
            if pendingExchange == nil { scrubIfDue(force: false) }
            metrics.transfersInFlight(active.count)
            if awaitCommitAndClaimAgain {
                awaitCommitAndClaimAgain = false
                waitedForCommit = isIdle && awaitVisibleCommit()
                databaseChanged = true
                continue
            }
            let watched = notifier?.descriptor
            let readable = multi.poll(timeoutMilliseconds: pollTimeout(), descriptors: watched.map { [$0] } ?? [])
            databaseChanged = watched.map { readable.contains($0) } ?? false
            waitedForCommit = false
            if databaseChanged {
                notifier?.drain()
                if isIdle { waitedForCommit = awaitVisibleCommit() }
            }
        }
        exchangeWithStore(databaseChanged: false, draining: true)
        // The checkpointer first: its checkpoints would make the last scrub give up.
        checkpointer?.stop()
        scrubIfDue(force: true)
        if !unrecorded.isEmpty {
            logger.error(
                "worker stopped with unrecorded outcomes; their events come back when the leases expire",
                metadata: ["count": "\(unrecorded.count)"])
        }
        logger.info("worker stopped", metadata: ["worker": "\(configuration.workerID)"])
    }

    // MARK: Talking to the store

    private var freeSlots: Int { configuration.concurrency - active.count }

    /// Outcomes wait up to this long (or until `recordBatch` of them finished) to share a
    /// transaction: each commit rewrites the touched pages into the WAL, so one commit for many
    /// outcomes costs little more than for one.
    private static let recordDelay: Milliseconds = 5

    private var recordBatch: Int { max(1, configuration.concurrency / 2) }

    /// The WAL watcher wakes us as the IVR writes the log, a moment before its commit is visible
    /// to readers (the IVR's fsync of the log comes between: about 0.3 ms here): a claim at once
    /// would find nothing and look again only later. So an idle worker first waits, at most 2 ms,
    /// for another connection's commit to show (the data version it read before its last claim
    /// changes). Its own commits do not change it. Returns whether it waited; it cannot without
    /// a version read before an idle claim (its last claim was made while busy), and then claims
    /// at once and, finding nothing, waits afterwards and claims again.
    private func awaitVisibleCommit() -> Bool {
        guard let before = dataVersionBeforeClaim else { return false }
        let deadline = Timestamp.monotonicNanoseconds() + 2_000_000
        while Timestamp.monotonicNanoseconds() < deadline {
            guard let version = try? store.dataVersion(), version == before else { return true }
            usleep(50)
        }
        return true
    }

    /// Records the finished outcomes and claims events for the free slots (see ``StoreExchange``),
    /// when either is due and no exchange is under way.
    private func exchangeWithStore(databaseChanged: Bool, draining: Bool) {
        let now = Timestamp.now()
        guard pendingExchange == nil, now >= outage.retryAt else { return }
        if !draining && !runningAlone && now >= nextAloneCheck {
            nextAloneCheck = now + configuration.idlePollInterval
            eventsWaitToRunAlone = (try? store.hasEventsToRunAlone(now: now)) ?? false
        }
        // An event that lost a lease before runs alone: claims stop until the slots are empty.
        let runAloneNow = !draining && eventsWaitToRunAlone && isIdle
        let claimLimit = draining || runningAlone || eventsWaitToRunAlone ? 0 : claimLimit(now: now, databaseChanged: databaseChanged)
        let recordsDue =
            unrecorded.first.map { oldest in
                draining || active.isEmpty || unrecorded.count >= recordBatch || now - oldest.finishedAt >= Self.recordDelay
            } ?? false
        if runAloneNow {
            claimAlone(now: now)
            return
        }
        guard recordsDue || claimLimit > 0 else { return }
        // Read before the claim: a commit after this read is either seen by the claim or changes
        // the version, so the next wake-up does not wait for it.
        // A busy claim makes an older version useless: it may have taken what changed since.
        if claimLimit > 0 { dataVersionBeforeClaim = active.isEmpty ? try? store.dataVersion() : nil }
        let exchange = StoreExchange(
            records: unrecorded, claimLimit: claimLimit, now: now, databaseChanged: databaseChanged,
            configuration: configuration, inFlight: claimLimit > 0 ? claimCounts : [:], assumeDue: backlogRemains,
            checkpointAfter: checkpointer?.takeRestartRequest() ?? false)
        if claimLimit > 0 { finishedSinceClaim.removeAll(keepingCapacity: true) }
        // The exchange holds the records now (and gives them back if the store refuses). Left
        // shared, the next append copied them all, retaining every field of every record.
        unrecorded = []
        unrecorded.reserveCapacity(recordBatch)
        // With transfers to drive meanwhile, the store thread takes the exchange; an idle
        // worker has nothing else to do (and wants its answer at once).
        if !active.isEmpty, storeThreadStarted {
            let outbox = outbox
            storeThread.submit { exchange.run(on: outbox) }
            pendingExchange = exchange
        } else {
            exchange.run(on: store)
            finishExchange(exchange)
        }
    }

    /// Applies what the store answered, on the loop: the claimed events start; outcomes the store
    /// refused go back to `unrecorded`, before those that finished meanwhile.
    private func finishExchange(_ exchange: StoreExchange) {
        if let failure = exchange.failure {
            unrecorded = exchange.records + unrecorded
            let activity = exchange.records.isEmpty ? "claiming events" : "recording \(exchange.records.count) outcomes"
            storeUnavailable(failure, while: activity)
            return
        }
        storeAvailable()
        if !exchange.records.isEmpty { recorded(exchange.records, lost: exchange.lost) }
        if exchange.claimLimit > 0 {
            startClaimed(exchange)
        }
    }

    /// Claims one event that lost a lease before and starts it with nothing else in flight.
    private func claimAlone(now: Milliseconds) {
        let entry: ClaimedEntry?
        do {
            entry = try store.claimAlone(owner: configuration.workerID, now: now, leaseGrace: configuration.leaseGrace)
        } catch {
            storeUnavailable(error, while: "claiming an event to run alone")
            return
        }
        storeAvailable()
        // Look again at once: more may wait, or another worker took this one.
        nextAloneCheck = 0
        guard let entry else {
            eventsWaitToRunAlone = false
            return
        }
        logger.notice(
            "running an event alone: an earlier attempt's worker died while delivering it",
            metadata: ["event": "\(entry.id)", "webservice": "\(entry.webservice)", "crash_strikes": "\(entry.crashStrikes)"])
        start(entry, webservice: compiledTemplate(for: entry.webservice))
    }

    /// How many events to claim now: none while the slots are full or nothing can be due yet.
    private func claimLimit(now: Milliseconds, databaseChanged: Bool) -> Int {
        // Claim in batches while busy: a claim is a write transaction and costs about the same for
        // 1 row or 64. (Our own commits also signal a change, so a change alone is no reason to
        // claim a handful.) An idle worker claims at once. The threshold never exceeds the slots
        // one webservice cannot take, or a slow one holding its share would block all claims.
        let batchThreshold =
            active.isEmpty
            ? 1 : max(1, min(configuration.concurrency / 4, configuration.concurrency - configuration.webserviceConcurrency))
        let room = freeSlots + claimedAhead - waiting.count
        guard databaseChanged || now >= nextClaimAt, room >= batchThreshold else { return 0 }
        return min(room, Self.largestClaim)
    }

    /// The most events one claim takes. A claim holds the write lock while it leases its rows,
    /// and the IVR's inserts wait meanwhile: filling 256 slots and 512 ahead in one claim put
    /// the benchmark's insert p99 at 4.3 to 5.6 ms (nginx at concurrency 256, three runs; 4.1 to
    /// 4.6 with this cap). A busy worker's claims take what the last exchange used up (96 to
    /// 216 events traced at concurrency 64), so mostly the first claims of a backlog are cut.
    private static let largestClaim = 256

    /// How many claimed events may wait for a slot. A claim's round trip to the store thread
    /// took longer than a fast receiver took to answer every transfer in flight, so claiming only
    /// for the slots already free left them all empty before each claim came back: the loop
    /// waited (nginx at concurrency 64, all slots for one webservice: about 29,000 events/s
    /// without these, 34,000 with half the concurrency of them).
    ///
    /// The store's pause between writes (see ``WriteLockPause``) stretches each round trip to
    /// about 3 ms, and a claim is sent as soon as the last one's events arrive, so it takes
    /// about half of what may be held (nginx at 64, 300,000 events: the loop waited with nothing
    /// to start 3.1 s of 10.5 with twice the concurrency, 0.8 s of 8.8 with four times). Some
    /// exchanges take 4 to 6 ms (traced), more than four times the concurrency lasts: eight
    /// times (the default share: 80 to 215 ms of waiting against 620 to 655 with four times; all
    /// 64 slots for the webservice: 35,845 to 40,001 events/s against 35,158 to 37,693, four
    /// interleaved pairs). At most 512, more than two round trips at the
    /// fastest rate seen, so a worker with many slots does not hold back thousands of events.
    private var claimedAhead: Int { min(configuration.concurrency * 8, 512) }

    /// What counts against each webservice's share in a claim: its transfers and waiting events,
    /// less ``claimedAhead`` if one of its transfers finished since the last claim (below zero
    /// when fewer are held: the claim may then take more than the share). So events are claimed
    /// ahead for a webservice that answers, and none beyond its share for one whose receiver
    /// hangs: they are not held back from other workers. (Only its share of them are ever in
    /// flight at once.)
    private var claimCounts: [String: Int] {
        var counts = activeByWebservice
        for (webservice, count) in waiting.countsByWebservice { counts[webservice, default: 0] += count }
        for name in finishedSinceClaim {
            counts[name, default: 0] -= claimedAhead
        }
        return counts
    }

    /// Starts waiting events, oldest first, while slots are free and their webservice's share
    /// allows. One that waited past half its lease's grace goes back to pending instead: it
    /// might otherwise run past its lease.
    private func startWaiting() {
        guard let oldest = waiting.oldestClaimedAt else { return }
        let staleBefore = Timestamp.now() - configuration.leaseGrace / 2
        // Called at every turn of the loop: with no slot free and the oldest event (the one that
        // waited longest) still in time, there is nothing to do.
        guard freeSlots > 0 || oldest < staleBefore else { return }
        release(waiting.removeClaimed(before: staleBefore), because: "they waited too long for a slot")
        while freeSlots > 0,
            let event = waiting.removeOldest(where: {
                activeByWebservice[$0, default: 0] < configuration.webserviceConcurrency
            })
        {
            start(event.entry, webservice: event.webservice)
        }
    }

    /// Gives claimed events that never started back to the outbox (see ``OutboxStore/release(_:owner:)``).
    /// If the store refuses, their leases bring them back.
    private func release(_ entries: [ClaimedEntry], because reason: String) {
        guard !entries.isEmpty else { return }
        do {
            try store.release(entries, owner: configuration.workerID)
        } catch {
            logger.warning(
                "could not give back claimed events that did not start (\(reason)); they come back when their leases expire",
                metadata: ["count": "\(entries.count)", "error": "\(error)"])
        }
    }

    /// Starts the claimed events and decides when to look again.
    private func startClaimed(_ exchange: StoreExchange) {
        let claimed = exchange.claimed
        let now = exchange.now
        backlogRemains = claimed.count == exchange.claimLimit
        if let nextDue = exchange.nextDue {
            nextClaimAt = min(now + configuration.idlePollInterval, max(nextDue, now + 1))
            if claimed.isEmpty { lookAgainForUnseenCommit(after: exchange) } else { unseenCommit = nil }
        } else {
            nextClaimAt = now
        }
        // One configuration read per webservice per batch, not per event.
        // A claim comes a webservice at a time: the last one's is looked up only when the name changes.
        var compiled: [String: Result<CompiledWebservice, PostCallError>] = [:]
        var last: (name: String, webservice: Result<CompiledWebservice, PostCallError>)?
        for entry in claimed {
            let webservice: Result<CompiledWebservice, PostCallError>
            if let last, last.name == entry.webservice {
                webservice = last.webservice
            } else {
                webservice =
                    compiled[entry.webservice]
                    ?? compiledTemplate(for: entry.webservice, fingerprint: exchange.fingerprints[entry.webservice])
                compiled[entry.webservice] = webservice
                last = (entry.webservice, webservice)
            }
            waiting.append(WaitingEvents.Event(entry: entry, webservice: webservice, claimedAt: now))
        }
        startWaiting()
    }

    /// The log is written before the commit completes, so a change notification can come before
    /// the new row is visible: the IVR's fsync of the log comes between, well under a millisecond
    /// on an idle disk, tens of milliseconds on a busy one, and no notification comes when the
    /// commit shows. An idle worker that claimed without first waiting for the commit waits now,
    /// at most 2 ms, and claims again (see awaitVisibleCommit()). After that, and for a busy worker
    /// (which must not block its transfers), claims that come up empty are made again after 1, 2,
    /// 4... ms while the data version stays what it was after the first of them, until the next
    /// regular look; once it changes, one more claim sees the commit. (On PostgreSQL the
    /// notification comes after the commit.)
    private func lookAgainForUnseenCommit(after exchange: StoreExchange) {
        let now = exchange.now
        if exchange.databaseChanged {
            unseenCommit = nil
            if isIdle && !waitedForCommit {
                if dataVersionBeforeClaim != nil { awaitCommitAndClaimAgain = true }
                return
            }
            guard let version = exchange.dataVersionAfterClaim else { return }
            unseenCommit = (version, now, now + configuration.idlePollInterval)
        }
        guard let unseen = unseenCommit, now < unseen.until else {
            unseenCommit = nil
            return
        }
        guard exchange.dataVersionAfterClaim == unseen.version else {
            // A commit showed after the first empty claim read the version: this claim may have
            // read before it did, the next one cannot.
            unseenCommit = nil
            nextClaimAt = min(nextClaimAt, now)
            return
        }
        // As long again as it has been: looks 1, 2, 4... ms after the first, however many claims a
        // busy worker makes meanwhile.
        nextClaimAt = min(nextClaimAt, now + max(1, now - unseen.since))
    }

    private func start(_ entry: ClaimedEntry, webservice loaded: Result<CompiledWebservice, PostCallError>) {
        let timing = Timing.now()
        switch decider.start(entry, webservice: loaded, outboxID: outboxID) {
        case .leaveToLease(let reason):
            // Nothing is recorded or erased: the lease brings the event back.
            storeUnavailable(PostCallError(.database, reason), while: "loading webservice \(entry.webservice)")
        case .finish(let decision, let isPrivate):
            var finished = record(entry, decision, isPrivate: isPrivate, timing: timing)
            // Given up without sending (crash strikes): a private webservice's files go all the same.
            if case .success(let compiled) = loaded, compiled.webservice.sendsFiles,
                FileRules.deletesFiles(after: decision.outcome, webservice: compiled.webservice)
            {
                finished.filesToDelete = fileJanitor.files(of: StoredEvent(entry, state: .inFlight))
            }
            unrecorded.append(finished)
        case .send(let request):
            guard case .success(let compiled) = loaded else { return }
            var files: [UploadFile] = []
            for path in request.upload?.paths ?? [] {
                switch fileAccess.open(path) {
                case .success(let file): files.append(file)
                case .failure(let refusal):
                    let decision = decider.decide(
                        FileRules.failure(for: refusal), entry: entry, webservice: compiled.webservice, now: Timestamp.now(),
                        using: &random)
                    unrecorded.append(
                        record(entry, decision, isPrivate: compiled.webservice.isPrivate, timing: timing, request: request,
                               files: files, webservice: compiled))
                    return
                }
            }
            send(request, files: files, for: entry, webservice: compiled, timing: timing, redirectsFollowed: 0, transfer: nil)
        }
    }

    /// `request` with its Standard Webhooks headers, over the exact bytes it sends: its body in
    /// memory, or its upload read once in pieces (and rewound for the transfer).
    private func sign(_ request: HTTPRequest, upload: UploadBody?, entry: ClaimedEntry, with signer: WebhookSigner) throws
        -> HTTPRequest
    {
        let id = TemplateValues.eventKey(outboxID: outboxID, eventID: entry.id)
        let signature = try signer.headers(id: id, timestamp: Timestamp.now() / 1000) { consume in
            if let upload { try upload.feed(consume) } else { (request.body ?? []).withUnsafeBytes(consume) }
        }
        var signed = request
        signed.headers.removeAll { $0.name.lowercased().hasPrefix("webhook-") }
        signed.headers += signature
        return signed
    }

    /// The body of a request that uploads `files`, opened in the order of its upload's paths.
    private static func uploadBody(of request: HTTPRequest, files: [UploadFile]) -> UploadBody? {
        switch request.upload {
        case .multipart(let fields, let parts): UploadBody(fields: fields, files: Array(zip(parts.map(\.name), files)))
        case .rawBody: files.first.map(UploadBody.init(rawFile:))
        case nil: nil
        }
    }

    /// Starts `request` on a transfer, the first of an attempt or a redirect within it.
    private func send(
        _ request: HTTPRequest, files: [UploadFile], for entry: ClaimedEntry, webservice compiled: CompiledWebservice, timing: Timing,
        redirectsFollowed: Int, transfer reused: HTTPTransfer?
    ) {
        // Redirects share the attempt's timeout.
        let remaining = max(1, compiled.webservice.timeoutMilliseconds - timing.elapsedMilliseconds)
        do {
            let transfer = try reused ?? idleTransfers.popLast() ?? HTTPTransfer(networkPolicy: configuration.networkPolicy)
            // A redirect sends the files again, from their start.
            let upload = Self.uploadBody(of: request, files: files)
            let signed = try compiled.signer.map { try sign(request, upload: upload, entry: entry, with: $0) } ?? request
            try transfer.prepare(
                signed, upload: upload, timeoutMilliseconds: remaining, userAgent: configuration.userAgent,
                inspectedBodyBytes: compiled.webservice.kind == .soap ? HTTPTransfer.maximumBodyBytes : HTTPTransfer.keptBodyBytes,
                tls: compiled.webservice.tls)
            try multi.add(transfer)
            activeByWebservice[entry.webservice, default: 0] += 1
            active[transfer.easy] = ActiveTransfer(
                transfer: transfer, entry: entry, compiled: compiled, request: request, files: files, timing: timing,
                redirectsFollowed: redirectsFollowed)
        } catch {
            if let reused {
                reused.releaseUpload()
                idleTransfers.append(reused)
            }
            let failure = AttemptFailure(errorClass: "transport", detail: "\(error)", isTransient: true, isEndpointFailure: false)
            let decision = decider.decide(failure, entry: entry, webservice: compiled.webservice, now: Timestamp.now(), using: &random)
            unrecorded.append(
                record(entry, decision, isPrivate: compiled.webservice.isPrivate, timing: timing, request: request, files: files,
                       webservice: compiled))
        }
    }

    /// The webservice's current configuration and parsed templates, checked for every claimed
    /// batch so an edit with `webservice set` applies to the next attempt. Store failures and
    /// unusable configurations both come back as errors; ``DeliveryDecider`` tells them apart.
    /// `fingerprint`, if given, was read with the claim (`nil` inside: the webservice is gone).
    private func compiledTemplate(for name: String, fingerprint known: String?? = nil)
        -> Result<CompiledWebservice, PostCallError>
    {
        do {
            let missing = PostCallError(.notFound, "webservice \(name) no longer exists; create it again and retry the event")
            guard let fingerprint = try known ?? store.webserviceFingerprint(named: name) else { throw missing }
            if let cached = templates[name], cached.fingerprint == fingerprint { return .success(cached) }
            guard let webservice = try store.webservice(named: name)?.openingSecrets(with: configuration.secretKey) else {
                throw missing
            }
            let template = try RequestTemplate(webservice)
            let signer = webservice.signingSecrets.isEmpty ? nil : try WebhookSigner(webservice: webservice, key: configuration.secretKey)
            let compiled = CompiledWebservice(webservice: webservice, template: template, signer: signer, fingerprint: fingerprint)
            templates[name] = compiled
            return .success(compiled)
        } catch let error as PostCallError {
            return .failure(error)
        } catch {
            return .failure(PostCallError(.database, "loading webservice \(name): \(error)"))
        }
    }

    // MARK: Finishing

    private func finish(easy: UnsafeMutableRawPointer, result: CURLcode) {
        guard let done = removeActive(easy) else { return }
        let transfer = done.transfer
        let finished = transfer.finished(result)
        let now = Timestamp.now()
        switch decider.finish(
            finished, request: done.request, entry: done.entry, webservice: done.compiled.webservice,
            redirectsFollowed: done.redirectsFollowed, now: now, using: &random)
        {
        case .follow(let next):
            send(next, files: done.files, for: done.entry, webservice: done.compiled, timing: done.timing,
                 redirectsFollowed: done.redirectsFollowed + 1, transfer: transfer)
        case .record(let decision):
            let response = done.compiled.webservice.isPrivate
                ? nil
                : ExchangeSummary.responseJSON(
                    status: finished.httpStatus, headers: finished.headers, bodyPrefix: finished.body.prefix(HTTPTransfer.keptBodyBytes),
                    bodyBytes: finished.bodyBytes)
            unrecorded.append(
                record(done.entry, decision, isPrivate: done.compiled.webservice.isPrivate, timing: done.timing, request: done.request,
                       files: done.files, webservice: done.compiled, httpStatus: finished.httpStatus, response: response))
            transfer.releaseUpload()
            transfer.releaseInspectedBody()
            idleTransfers.append(transfer)
            finishedSinceClaim.insert(done.entry.webservice)
        }
    }

    /// When an attempt started, by the wall clock (for the history) and the monotonic one (for its duration).
    private struct Timing {
        let startedAt: Milliseconds
        let startedNanoseconds: UInt64

        /// The attempt's wall clock start and monotonic start, now.
        static func now() -> Timing {
            Timing(startedAt: Timestamp.now(), startedNanoseconds: Timestamp.monotonicNanoseconds())
        }

        var elapsedMilliseconds: Int64 { Int64((Timestamp.monotonicNanoseconds() - startedNanoseconds) / 1_000_000) }
    }

    private func record(
        _ entry: ClaimedEntry, _ decision: DeliveryDecider.Decision, isPrivate: Bool, timing: Timing,
        request: HTTPRequest? = nil, files: [UploadFile] = [], webservice compiled: CompiledWebservice? = nil, httpStatus: Int? = nil,
        response: String? = nil
    ) -> AttemptRecord {
        var record = AttemptRecord(
            entry: entry, worker: configuration.workerID, startedAt: timing.startedAt,
            durationMilliseconds: timing.elapsedMilliseconds,
            outcome: .delivered, httpStatus: httpStatus, error: decision.error, isPrivate: isPrivate)
        switch decision.outcome {
        case .delivered: record.outcome = .delivered
        case .retry(let at):
            record.outcome = .retry
            record.nextAttemptAt = at
        case .dead: record.outcome = .failed
        }
        record.errorClass = decision.errorClass
        record.isEndpointFailure = decision.isEndpointFailure
        record.refundsAttempt = decision.refundsAttempt
        if !isPrivate {
            record.requestSummary = request.map { ExchangeSummary.requestJSON($0, files: files) }
            record.responseSummary = response
        }
        if let compiled, FileRules.deletesFiles(after: decision.outcome, webservice: compiled.webservice) {
            record.filesToDelete = files.map(\.path)
        }
        return record
    }

    /// Interrupts the transfers still running when a stop's drain time is over. Each goes back to
    /// pending at once, without using up its budget, instead of waiting for its lease.
    private func interruptAll() {
        for easy in Array(active.keys) {
            guard let done = removeActive(easy) else { continue }
            unrecorded.append(
                record(done.entry, decider.interrupted(now: Timestamp.now()), isPrivate: done.compiled.webservice.isPrivate,
                       timing: done.timing, request: done.request, files: done.files))
        }
    }

    private func removeActive(_ easy: UnsafeMutableRawPointer) -> ActiveTransfer? {
        guard let done = active.removeValue(forKey: easy) else { return nil }
        multi.remove(done.transfer)
        if let index = activeByWebservice.index(forKey: done.entry.webservice) {
            if activeByWebservice.values[index] > 1 { activeByWebservice.values[index] -= 1 } else { activeByWebservice.remove(at: index) }
        }
        return done
    }

    // MARK: Recording

    /// Metrics and log lines for a batch of outcomes the store took (all but `lost`). Logs carry
    /// the error's class only: its detail can echo call data.
    private func recorded(_ records: [AttemptRecord], lost: [AttemptRecord]) {
        if records.contains(where: { $0.isPrivate && $0.outcome != .retry }) { scrubPending = true }
        // By index: iterating the records copied each of them (600 instructions an event, callgrind).
        for index in records.indices where lost.isEmpty || !lost.contains(where: { $0.entry == records[index].entry }) {
            metrics.attempt(
                webservice: records[index].entry.webservice, outcome: records[index].outcome,
                durationMilliseconds: records[index].durationMilliseconds)
            guard records[index].outcome != .delivered else { continue }
            let record = records[index]
            logger.log(
                level: record.outcome == .failed ? .error : .warning,
                record.outcome == .failed ? "event dead" : "delivery failed, will retry",
                metadata: [
                    "event": "\(record.entry.id)", "webservice": "\(record.entry.webservice)",
                    "attempt": "\(record.entry.attempt)", "error": "\(record.errorClass ?? "")",
                ])
        }
        deleteFiles(of: records.filter { record in !record.filesToDelete.isEmpty && !lost.contains { $0.entry == record.entry } })
        for record in lost {
            metrics.leaseLost()
            logger.warning(
                "lease lost; outcome not applied (the attempt is in the history), another worker owns the event now",
                metadata: ["event": "\(record.entry.id)", "attempt": "\(record.entry.attempt)"])
        }
    }

    /// Finds and deletes files with this worker's templates.
    private var fileJanitor: FileJanitor {
        FileJanitor(access: fileAccess, outboxID: outboxID) { [unowned self] name in try? compiledTemplate(for: name).get() }
    }

    /// Deletes the files of recorded outcomes that no longer need them. A failure leaves them
    /// in place (`postcall prune` deletes them with their events), never an event without its file.
    private func deleteFiles(of records: [AttemptRecord]) {
        guard !records.isEmpty else { return }
        let janitor = fileJanitor
        for record in records {
            do {
                try janitor.delete(record.filesToDelete, ofCall: record.entry.callID, leaving: [record.entry.id], store: store)
            } catch {
                logger.warning(
                    "could not check whether other events need a file; it stays",
                    metadata: ["event": "\(record.entry.id)", "error": "\(error)"])
            }
        }
    }

    /// Empties the WAL after private events were finalised, by this worker or by any other (one
    /// that died before its own scrub included), at most once a second and once more when
    /// stopping, since each scrub briefly takes the database's write lock.
    private func scrubIfDue(force: Bool) {
        let now = Timestamp.now()
        guard force || now - lastScrub >= 1_000 else { return }
        lastScrub = now
        do {
            // The request is in the database, so this worker learns of other workers' scrubs too.
            if !scrubPending { scrubPending = try store.isScrubRequested() }
            if scrubPending, try store.scrubIfRequested() { scrubPending = false }
        } catch {
            logger.debug("could not empty the write-ahead log yet", metadata: ["error": "\(error)"])
        }
    }

    /// The database refused (locked past the busy timeout, disk full, read-only): say so, stop
    /// claiming for a moment and try again; outcomes stay in memory meanwhile.
    private func storeUnavailable(_ error: any Error, while activity: String) {
        // Said once per outage, not at every retry while the disk stays full or the server down.
        let starts = outage.fail(now: Timestamp.now())
        logger.log(
            level: starts ? .error : .debug,
            "database unavailable while \(activity); not claiming, keeping outcomes in memory, retrying (at most every 5 s)",
            metadata: ["error": "\(error)", "unrecorded": "\(unrecorded.count)"])
    }

    private func storeAvailable() {
        notifier?.databaseAnswered()
        guard outage.recover() else { return }
        logger.notice("database available again; claiming resumed")
    }

    private func pollTimeout() -> Int {
        // The store thread wakes the loop when its exchange is done; nothing else is due before.
        if pendingExchange != nil { return Int(configuration.idlePollInterval) }
        let now = Timestamp.now()
        if let oldest = unrecorded.first {
            return Int(max(0, max(outage.retryAt, oldest.finishedAt + Self.recordDelay) - now))
        }
        if stopSignal.isRequested { return 100 }
        let untilClaim = max(nextClaimAt, outage.retryAt) - now
        return Int(min(max(0, untilClaim), configuration.idlePollInterval))
    }

}

import ArgumentParser
import Dispatch
import FoundationEssentials
import Glibc
import Logging
import PostCall
import PostCallCSystem
import Synchronization

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Claim and deliver events until SIGTERM or SIGINT.",
        discussion: """
            Run several worker processes per host to scale; each drives many transfers at once \
            through one libcurl multi loop. Every option can also be set by the environment \
            variable named in its help, which is how the systemd unit configures it.

            On SIGTERM or SIGINT the worker stops claiming, lets transfers in flight finish \
            (at most --drain-timeout), records their outcomes and exits 0.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var files: FilesOptions

    @Option(help: "Transfers in flight at once (env POSTCALL_CONCURRENCY).")
    var concurrency: Int = environment("POSTCALL_CONCURRENCY").flatMap(Int.init) ?? 64

    @Option(
        name: .customLong("webservice-concurrency"),
        help: "Transfers in flight at once for one webservice, so a slow receiver leaves room for the others (env POSTCALL_WEBSERVICE_CONCURRENCY; default: 3/4 of --concurrency).")
    var webserviceConcurrencyOption: Int?
    // An optional option with a default is deprecated in swift-argument-parser, so the environment
    // variables of options without a default are read here.
    var webserviceConcurrency: Int? {
        webserviceConcurrencyOption ?? environment("POSTCALL_WEBSERVICE_CONCURRENCY").flatMap(Int.init)
    }

    @Option(name: .customLong("id"), help: "This worker's name in leases and attempts (env POSTCALL_WORKER_ID; default: host:pid).")
    var workerIDOption: String?
    var workerID: String? { workerIDOption ?? environment("POSTCALL_WORKER_ID") }

    @Option(name: .customLong("drain-timeout"), help: "How long a stopping worker lets transfers finish (env POSTCALL_DRAIN_TIMEOUT).")
    var drainTimeout: String = environment("POSTCALL_DRAIN_TIMEOUT") ?? "30s"

    @Option(
        name: .customLong("lease-grace"),
        help: "Added to an entry's timeout to form its lease; a killed worker's events come back after it (env POSTCALL_LEASE_GRACE).")
    var leaseGrace: String = environment("POSTCALL_LEASE_GRACE") ?? "30s"

    @Option(
        name: .customLong("deny-networks"),
        help: ArgumentHelp(
            "Networks deliveries may not connect to, comma-separated CIDRs or addresses; private = loopback, RFC 1918, link-local, CGNAT and their IPv6 kin (env POSTCALL_DENY_NETWORKS; default: none).",
            valueName: "networks"))
    var denyNetworks: String = environment("POSTCALL_DENY_NETWORKS") ?? ""

    @Option(
        name: .customLong("allow-networks"),
        help: ArgumentHelp("Exceptions to --deny-networks, comma-separated (env POSTCALL_ALLOW_NETWORKS).", valueName: "networks"))
    var allowNetworks: String = environment("POSTCALL_ALLOW_NETWORKS") ?? ""

    @Option(
        name: .customLong("poll-interval"),
        help: "How often an idle worker checks for due events if no change notification came (env POSTCALL_POLL_INTERVAL).")
    var pollInterval: String = environment("POSTCALL_POLL_INTERVAL") ?? "1s"

    @Option(
        name: .customLong("retry-first-delay"),
        help: "The longest wait before the first retry; later ones grow threefold up to --retry-max-delay (env POSTCALL_RETRY_FIRST_DELAY).")
    var retryFirstDelay: String = environment("POSTCALL_RETRY_FIRST_DELAY") ?? "10s"

    @Option(name: .customLong("retry-max-delay"), help: "The longest wait between two attempts (env POSTCALL_RETRY_MAX_DELAY).")
    var retryMaxDelay: String = environment("POSTCALL_RETRY_MAX_DELAY") ?? "4h"

    @Option(
        name: .customLong("breaker-threshold"),
        help: "Transient failures in a row that pause a webservice; the pause grows with the count (env POSTCALL_BREAKER_THRESHOLD).")
    var breakerThreshold: Int = environment("POSTCALL_BREAKER_THRESHOLD").flatMap(Int.init) ?? 5

    @Option(name: .customLong("breaker-max-pause"), help: "The longest pause of a failing webservice (env POSTCALL_BREAKER_MAX_PAUSE).")
    var breakerMaxPause: String = environment("POSTCALL_BREAKER_MAX_PAUSE") ?? "10m"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env POSTCALL_LOG_LEVEL).")
    var logLevel: String = environment("POSTCALL_LOG_LEVEL") ?? "info"

    @Option(
        name: .customLong("metrics-port"),
        help: "Serve Prometheus metrics at http://HOST:PORT/metrics; 0 picks a free port (env POSTCALL_METRICS_PORT; default: none).")
    var metricsPortOption: Int?
    var metricsPort: Int? { metricsPortOption ?? environment("POSTCALL_METRICS_PORT").flatMap(Int.init) }

    @Option(name: .customLong("metrics-host"), help: "The IPv4 address metrics listen on (env POSTCALL_METRICS_HOST).")
    var metricsHost: String = environment("POSTCALL_METRICS_HOST") ?? "127.0.0.1"

    @Option(name: .customLong("log-format"), help: "logfmt or json: one line per event on standard error (env POSTCALL_LOG_FORMAT).")
    var logFormat: String = environment("POSTCALL_LOG_FORMAT") ?? "logfmt"

    func validate() throws {
        // Without this, a mistyped number in the environment file would silently become the default.
        for name in ["POSTCALL_CONCURRENCY", "POSTCALL_WEBSERVICE_CONCURRENCY", "POSTCALL_BREAKER_THRESHOLD", "POSTCALL_METRICS_PORT"] {
            if let value = environment(name), Int(value) == nil {
                throw ValidationError("\(name)=\(value.debugDescription) is not a whole number")
            }
        }
        guard LineLogHandler.Format(rawValue: logFormat) != nil else {
            throw ValidationError("--log-format must be logfmt or json")
        }
        guard concurrency >= 1 && concurrency <= 10_000 else {
            throw ValidationError("--concurrency must be between 1 and 10000")
        }
        if let webserviceConcurrency, webserviceConcurrency < 1 {
            throw ValidationError("--webservice-concurrency must be at least 1")
        }
        guard breakerThreshold >= 1 else {
            throw ValidationError("--breaker-threshold must be at least 1")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        for (name, value) in [
            ("--drain-timeout", drainTimeout), ("--lease-grace", leaseGrace), ("--poll-interval", pollInterval),
            ("--retry-first-delay", retryFirstDelay), ("--retry-max-delay", retryMaxDelay),
            ("--breaker-max-pause", breakerMaxPause),
        ] where Timestamp.parseDuration(value) == nil {
            throw ValidationError("\(name) \(value.debugDescription) must be a duration like 500ms, 30s, 5m, 4h (at most 100 years)")
        }
        do {
            _ = try networkPolicy()
        } catch let error as PostCallError {
            throw ValidationError(error.message)
        }
    }

    private func networkPolicy() throws -> NetworkPolicy {
        NetworkPolicy(
            denied: try NetworkPolicy.networks(denyNetworks, option: "--deny-networks"),
            allowed: try NetworkPolicy.networks(allowNetworks, option: "--allow-networks"))
    }

    func run() throws {
        // glibc hands freed memory back to the kernel once 128 KiB sit free at a heap's top, and a
        // busy worker frees that much many times a second: each time, the pages must be faulted
        // in again and every CPU running the process flushes its TLB. Keeping up to 1 MiB saved
        // the store thread about 15 % of its CPU in a 300,000-event drain.
        _ = postcall_set_malloc_trim_threshold(1 << 20)
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let format = LineLogHandler.Format(rawValue: logFormat) ?? .logfmt
        LoggingSystem.bootstrap { LineLogHandler(label: $0, format: format, level: level) }
        let logger = Logger(label: "postcall.worker")
        let duration = { (text: String) in Timestamp.parseDuration(text) ?? 0 }
        var configuration = WorkerConfiguration(
                workerID: workerID ?? "\(ProcessInfo.processInfo.hostName):\(getpid())", concurrency: concurrency,
                webserviceConcurrency: webserviceConcurrency, leaseGrace: duration(leaseGrace),
                idlePollInterval: max(1, duration(pollInterval)), drainTimeout: duration(drainTimeout),
                retryPolicy: RetryPolicy(firstDelay: max(1, duration(retryFirstDelay)), maximumDelay: max(1, duration(retryMaxDelay))),
                circuitBreaker: CircuitBreaker(threshold: breakerThreshold, maximumPause: duration(breakerMaxPause)))
        configuration.fileDirectories = files.access(outbox: database.location).directories
        configuration.metricsPort = metricsPort
        configuration.metricsHost = metricsHost
        configuration.networkPolicy = try networkPolicy()
        configuration.secretKey = try SecretKey.fromEnvironment()

        let stop = StopRequest()
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { stop.request() }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        guard let worker = try startWorker(configuration: configuration, logger: logger, stop: stop) else { return }
        worker.run()
    }

    /// Opens the store and makes the worker. A database that cannot be written yet (a full disk,
    /// a lock held past the busy timeout, a PostgreSQL server not up yet) is waited for, as a running worker waits for it; a
    /// stop while waiting returns `nil`. Anything else (a missing file, a newer schema) fails.
    private func startWorker(configuration: WorkerConfiguration, logger: Logger, stop: StopRequest) throws -> DeliveryWorker? {
        var announced: String?
        while !stop.isRequested {
            do {
                let worker = try DeliveryWorker(store: try database.openStore(), configuration: configuration, logger: logger)
                if announced != nil { logger.notice("database available again; starting") }
                stop.attach(worker.stopHandle)
                return worker
            } catch let error as PostCallError
                where error.code == .diskFull || error.code == .databaseBusy || error.code == .databaseUnavailable
            {
                if announced != error.message {
                    logger.error("database unavailable at start; waiting, retrying every second", metadata: ["error": "\(error.message)"])
                    announced = error.message
                }
                stop.wait(milliseconds: 1_000)
            }
        }
        return nil
    }
}

/// A stop asked for by a signal, before or after the worker exists.
private final class StopRequest: Sendable {
    private let state = Mutex<(requested: Bool, worker: DeliveryWorker.StopSignal?)>((false, nil))
    private let wakeup = DispatchSemaphore(value: 0)

    var isRequested: Bool { state.withLock { $0.requested } }

    func request() {
        let worker = state.withLock { state -> DeliveryWorker.StopSignal? in
            state.requested = true
            return state.worker
        }
        worker?.requestStop()
        wakeup.signal()
    }

    /// Passes a stop on to `worker`, at once if one was asked for already.
    func attach(_ worker: DeliveryWorker.StopSignal) {
        let requested = state.withLock { state -> Bool in
            state.worker = worker
            return state.requested
        }
        if requested { worker.requestStop() }
    }

    /// Sleeps up to `milliseconds`, less if a stop comes.
    func wait(milliseconds: Int) {
        _ = wakeup.wait(timeout: .now() + .milliseconds(milliseconds))
    }
}

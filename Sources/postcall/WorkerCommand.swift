import ArgumentParser
import Dispatch
import Foundation
import Logging
import PostCall

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Claim and deliver events until SIGTERM or SIGINT.",
        discussion: """
            Run several worker processes per host to scale; each drives many transfers at once.
            On SIGTERM or SIGINT the worker stops claiming, lets transfers in flight finish \
            (at most --drain-timeout), records their outcomes and exits 0.
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Transfers in flight at once (env: POSTCALL_CONCURRENCY).")
    var concurrency: Int = ProcessInfo.processInfo.environment["POSTCALL_CONCURRENCY"].flatMap(Int.init) ?? 64

    @Option(name: .customLong("id"), help: "This worker's name in leases and attempts (env: POSTCALL_WORKER_ID; default: host:pid).")
    var workerID: String?

    @Option(name: .customLong("drain-timeout"), help: "Seconds to let transfers finish on stop.")
    var drainTimeout: Double = 30

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env: POSTCALL_LOG_LEVEL).")
    var logLevel: String = ProcessInfo.processInfo.environment["POSTCALL_LOG_LEVEL"] ?? "info"

    func validate() throws {
        guard concurrency >= 1 && concurrency <= 10_000 else {
            throw ValidationError("--concurrency must be between 1 and 10000")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "postcall.worker")
        let identity =
            workerID ?? ProcessInfo.processInfo.environment["POSTCALL_WORKER_ID"]
            ?? "\(ProcessInfo.processInfo.hostName):\(getpid())"
        let worker = try DeliveryWorker(
            store: try database.openStore(),
            configuration: WorkerConfiguration(
                workerID: identity, concurrency: concurrency, drainTimeout: Int64(drainTimeout * 1000)),
            logger: logger)

        let stop = worker.stopHandle
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { stop.requestStop() }
            source.resume()
            sources.append(source)
        }
        worker.run()
        sources.forEach { $0.cancel() }
    }
}

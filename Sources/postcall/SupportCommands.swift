import ArgumentParser
import FoundationEssentials
import PostCall

/// `--local`: show times in the machine's time zone instead of UTC.
struct TimeDisplayOptions: ParsableArguments {
    @Flag(name: .customLong("local"), help: "Show times in local time instead of UTC.")
    var localTime = false

    func display(_ rfc3339: String) -> String {
        guard localTime, let time = Timestamp.parseWhen(rfc3339) else { return rfc3339 }
        return Timestamp.localTime(time)
    }
}

/// Parses `WHEN` options, naming the option in the error.
func parseWhen(_ text: String?, _ option: String) throws -> Int64? {
    guard let text else { return nil }
    guard let time = Timestamp.parseWhen(text) else {
        throw PostCallError(.invalidInput, "\(option) \(text.debugDescription) is neither RFC 3339 nor a duration like 90m, 2h, 7d")
    }
    return time
}

struct RetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Requeue events by id, or every event matching a filter, with a fresh retry budget.",
        discussion: """
            Examples:
              postcall retry 1042 1043
              postcall retry --state dead --webservice survey --since 2026-11-25T08:00:00Z
            Fix the webservice first (postcall webservice set), then retry. Delivered events can be \
            sent again by id or with --state delivered. Private events that are delivered or dead \
            cannot be retried: their variables were erased.
            """)

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "Event ids.") var eventIDs: [Int64] = []
    @Option(help: "pending, dead or delivered (required without ids).") var state: EventState?
    @Option var webservice: String?
    @Option(name: .customLong("call-id")) var callID: String?
    @Option(help: "Created at or after WHEN.") var since: String?
    @Option(help: "Created before WHEN.") var until: String?

    func validate() throws {
        let filtered = state != nil || webservice != nil || callID != nil || since != nil || until != nil
        if eventIDs.isEmpty && state == nil {
            throw ValidationError("give event ids, or --state with optional --webservice, --call-id, --since, --until")
        }
        if !eventIDs.isEmpty && filtered {
            throw ValidationError("give either event ids or a filter, not both")
        }
    }

    func run() throws {
        let store = try database.openStore()
        let result: RequeueResult
        if eventIDs.isEmpty {
            result = try store.requeue(
                matching: HistoryFilter(
                    callID: callID, webservice: webservice, state: state, since: try parseWhen(since, "--since"),
                    until: try parseWhen(until, "--until")))
        } else {
            result = try store.requeue(ids: eventIDs)
        }
        print("requeued \(result.requeued.count) event\(result.requeued.count == 1 ? "" : "s")")
        if !result.notFound.isEmpty { print("not found: \(result.notFound.map(String.init).joined(separator: " "))") }
        if !result.inFlight.isEmpty {
            print("skipped, being delivered now: \(result.inFlight.map(String.init).joined(separator: " "))")
        }
        if !result.erased.isEmpty {
            print("skipped, private and their data erased: \(result.erased.map(String.init).joined(separator: " "))")
        }
        if result.requeued.isEmpty && !eventIDs.isEmpty {
            throw PostCallError(.invalidInput, "no event was requeued")
        }
    }
}

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete delivered events (their attempts and files) older than a duration; dead events stay.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var files: FilesOptions
    @Option(name: .customLong("older-than"), help: "A duration such as 30d, 12h.") var olderThan: String

    func run() throws {
        guard let age = Timestamp.parseDuration(olderThan) else {
            throw PostCallError(.invalidInput, "--older-than \(olderThan.debugDescription) must be a duration like 30d, 12h (at most 100 years)")
        }
        let store = try database.openStore()
        let janitor = try FileJanitor(access: files.access(outbox: store.location), store: store)
        var deletedFiles = 0
        let deleted = try store.pruneDelivered(before: Timestamp.now() - age) { batch in
            let leaving = Set(batch.map(\.id))
            for event in batch {
                deletedFiles += try janitor.delete(janitor.files(of: event), ofCall: event.callID, leaving: leaving, store: store).count
            }
        }
        print("pruned \(deleted) delivered event\(deleted == 1 ? "" : "s") older than \(olderThan)"
            + (deletedFiles > 0 ? " and \(deletedFiles) file\(deletedFiles == 1 ? "" : "s")" : ""))
    }
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Counts per state and webservice, recent rates, oldest pending event, leases.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var files: FilesOptions
    @Option(help: "table or json.") var format: OutputFormat = .table

    func run() throws {
        let store = try database.openStore()
        let stats = try store.stats(countingFilesIn: files.access(outbox: store.location))
        if format == .json { return try printJSON(stats) }

        print("outbox: \(stats.outboxID) (Idempotency-Keys are <outbox>-<event id>)")
        print("events: " + EventState.allCases.map { "\($0.rawValue) \(stats.states[$0.rawValue] ?? 0)" }.joined(separator: ", "))
        if let age = stats.oldestPendingAgeSeconds {
            print("oldest pending event: \(Timestamp.formatDuration(Int64(age * 1000))) old")
        }
        if stats.filesWaiting > 0 {
            print("files waiting: \(stats.filesWaiting) (\((Double(stats.filesWaitingBytes) / 1_048_576).oneDecimal) MiB)")
        }
        print("")
        var webservices = TextTable(header: ["WEBSERVICE", "PENDING", "IN FLIGHT", "DELIVERED", "DEAD", "FAILING", "PAUSED UNTIL"])
        for row in stats.webservices {
            webservices.append([
                row.name.escapingControlCharacters, String(row.pending), String(row.inFlight), String(row.delivered), String(row.dead),
                String(row.consecutiveFailures), row.pausedUntil ?? "",
            ])
        }
        print(webservices.render())
        print("")
        var windows = TextTable(header: ["WINDOW", "ATTEMPTS", "DELIVERED", "RETRIED", "FAILED", "DELIVERED/MIN", "FAILURE RATE"])
        for window in stats.windows {
            windows.append([
                window.window, String(window.attempts), String(window.delivered), String(window.retried),
                String(window.failed), window.deliveriesPerMinute.oneDecimal, (window.failureRate * 100).oneDecimal + "%",
            ])
        }
        print(windows.render())
        if !stats.leases.isEmpty {
            print("")
            var leases = TextTable(header: ["WORKER", "IN FLIGHT", "EARLIEST LEASE EXPIRY"])
            for lease in stats.leases { leases.append([lease.worker.escapingControlCharacters, String(lease.inFlight), lease.earliestExpiry]) }
            print(leases.render())
        }
    }
}

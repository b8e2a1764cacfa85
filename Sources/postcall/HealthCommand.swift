import ArgumentParser
import FoundationEssentials
import PostCall

struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Exit 0 if delivery is healthy, 1 if not: for monitoring and systemd checks.",
        discussion: """
            Unhealthy when the database cannot be written (locked, read-only, disk full) or the \
            oldest pending event is older than --max-pending-age: events are waiting but nothing \
            delivers them (no worker running, or every receiver failing).
            """)

    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("max-pending-age"), help: "The oldest pending event may be at most this old (env POSTCALL_MAX_PENDING_AGE).")
    var maxPendingAge: String = environment("POSTCALL_MAX_PENDING_AGE") ?? "5m"

    func run() throws {
        guard let limit = Timestamp.parseDuration(maxPendingAge) else {
            throw PostCallError(.invalidInput, "--max-pending-age \(maxPendingAge.debugDescription) must be a duration like 90s, 5m, 1h (at most 100 years)")
        }
        var problems: [String] = []
        var facts: [String] = []
        do {
            let store = try database.openStore()
            do {
                try store.checkWritable()
                facts.append("database writable")
            } catch {
                problems.append("database not writable: \(error)")
            }
            let depths = try store.queueDepths()
            if let age = depths.oldestPendingAgeSeconds {
                let text = "oldest pending event \(Timestamp.formatDuration(Int64(age * 1000))) old (limit \(maxPendingAge))"
                if Int64(age * 1000) > limit { problems.append(text) } else { facts.append(text) }
            } else {
                facts.append("no pending events")
            }
            facts.append("\(depths.counts["in_flight"] ?? 0) in flight, \(depths.counts["dead"] ?? 0) dead")
        } catch {
            problems.append("\(error)")
        }
        if problems.isEmpty {
            print("ok: " + facts.joined(separator: "; "))
        } else {
            print("unhealthy: " + problems.joined(separator: "; "))
            throw ExitCode.failure
        }
    }
}

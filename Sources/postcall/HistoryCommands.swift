import ArgumentParser
import FoundationEssentials
import PostCall

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show an event and every attempt to deliver it.")

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The event id.") var eventID: Int64
    @Option(help: "table or json.") var format: OutputFormat = .table
    @OptionGroup var time: TimeDisplayOptions

    func run() throws {
        let store = try database.openStore()
        guard let event = try store.event(id: eventID)?.forTerminal(format == .json) else {
            throw PostCallError(.notFound, "no event \(eventID) in \(database.db)")
        }
        let attempts = try store.attempts(eventID: eventID).map { $0.forTerminal(format == .json) }
        switch format {
        case .json:
            try printJSON(EventReport(event: event, attemptLog: attempts))
        case .table, .csv:
            print("event \(event.id): \(event.state.rawValue), \(event.attempts) attempt(s)")
            print("  webservice  \(event.webservice)")
            print("  call        \(event.callID) (\(event.reason))")
            if try store.isPrivateWebservice(named: event.webservice) {
                print("  private     yes: variables, requests and responses are not kept")
            }
            print("  created     \(time.display(event.createdAt))")
            if let delivered = event.deliveredAt { print("  delivered   \(time.display(delivered))") }
            if let next = event.nextAttemptAt { print("  next try    \(time.display(next))") }
            if let error = event.lastError { print("  last error  \(error)") }
            for attempt in attempts {
                print("")
                let status = attempt.httpStatus.map { "HTTP \($0)" } ?? "no response"
                print("attempt \(attempt.attempt): \(attempt.outcome.rawValue), \(status), \(attempt.durationMilliseconds) ms, \(time.display(attempt.startedAt)), worker \(attempt.worker)")
                if let error = attempt.error { print("  error: \(error)") }
                if let request = attempt.request {
                    print("  request:  \(request.method ?? "") \(request.url ?? "")")
                    for header in request.headers { print("    \(header.joined(separator: ": "))") }
                    if !request.body.isEmpty { print("    body (\(request.bodyBytes) bytes): \(request.body)") }
                    for file in request.files ?? [] {
                        print("    file \(file.field.map { "part \($0)" } ?? "as the body"): \(file.name) (\(file.size) bytes, \(file.contentType))")
                    }
                }
                if let response = attempt.response {
                    print("  response: \(response.status.map(String.init) ?? "-")")
                    for header in response.headers { print("    \(header.joined(separator: ": "))") }
                    if !response.body.isEmpty { print("    body (\(response.bodyBytes) bytes): \(response.body)") }
                }
            }
        }
    }
}

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "List events, newest first.",
        discussion: "WHEN is RFC 3339 (2026-11-25T14:00:00Z) or a duration back from now (90m, 2h, 7d).")

    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("call-id")) var callID: String?
    @Option var webservice: String?
    @Option(help: "pending, in_flight, delivered or dead.") var state: EventState?
    @Option(help: "Created at or after WHEN.") var since: String?
    @Option(help: "Created before WHEN.") var until: String?
    @Option var limit: Int = 50
    @Option(help: "table, json or csv.") var format: OutputFormat = .table
    @OptionGroup var time: TimeDisplayOptions

    func run() throws {
        let filter = HistoryFilter(
            callID: callID, webservice: webservice, state: state, since: try parseWhen(since, "--since"),
            until: try parseWhen(until, "--until"), limit: limit)
        let events = try database.openStore().events(matching: filter).map { $0.forTerminal(format == .json) }
        switch format {
        case .json:
            try printJSON(events)
        case .csv:
            print("id,webservice,call_id,reason,state,attempts,created_at,delivered_at,next_attempt_at,last_error")
            for event in events {
                let fields: [String] = [
                    String(event.id), event.webservice, event.callID, event.reason, event.state.rawValue, String(event.attempts),
                    event.createdAt, event.deliveredAt ?? "", event.nextAttemptAt ?? "", event.lastError ?? "",
                ]
                print(fields.map(csvField).joined(separator: ","))
            }
        case .table:
            var table = TextTable(header: ["ID", "CREATED", "WEBSERVICE", "CALL", "STATE", "TRIES", "LAST ERROR"])
            for event in events {
                table.append([
                    String(event.id), time.display(event.createdAt), event.webservice, event.callID, event.state.rawValue,
                    String(event.attempts),
                    (event.lastError ?? "").truncatedForTable(60),
                ])
            }
            print(table.render())
        }
    }

    private func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacing("\"", with: "\"\"") + "\""
    }
}

extension EventSummary {
    /// For human output (not JSON, which escapes for itself): text that came from outside,
    /// call ids and errors that quote receivers, with control characters made visible.
    func forTerminal(_ isJSON: Bool) -> EventSummary {
        guard !isJSON else { return self }
        var copy = self
        copy.webservice = webservice.escapingControlCharacters
        copy.callID = callID.escapingControlCharacters
        copy.lastError = lastError?.escapingControlCharacters
        return copy
    }
}

extension AttemptSummary {
    /// See ``EventSummary/forTerminal(_:)``: receivers' headers and bodies are untrusted.
    func forTerminal(_ isJSON: Bool) -> AttemptSummary {
        guard !isJSON else { return self }
        var copy = self
        copy.worker = worker.escapingControlCharacters
        copy.error = error?.escapingControlCharacters
        copy.request = request?.forTerminal
        copy.response = response?.forTerminal
        return copy
    }
}

extension ExchangeSummary {
    fileprivate var forTerminal: ExchangeSummary {
        var copy = self
        copy.url = url?.escapingControlCharacters
        copy.headers = headers.map { $0.map(\.escapingControlCharacters) }
        // Bodies keep their line breaks as spaces (truncatedForTable) but lose every other control.
        copy.body = body.truncatedForTable(200).escapingControlCharacters
        copy.files = files?.map { file in
            var escaped = file
            escaped.field = file.field?.escapingControlCharacters
            escaped.name = file.name.escapingControlCharacters
            return escaped
        }
        return copy
    }
}

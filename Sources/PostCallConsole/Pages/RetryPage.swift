import PostCall

/// Asking before a retry, and saying what it did.
enum RetryPage {
    /// Confirmation for one event.
    static func confirmOne(event: EventSummary, viewer: ConsoleViewer, csrf: String) -> HTML {
        ConsolePage.render(
            title: "Retry event \(event.id)?", viewer: viewer,
            body: """
                <p class="message">Retry <strong>1 event</strong>: event \(event.id) of webservice \(event.webservice), \
                call <span class="mono">\(event.callID)</span>, now \(event.state.rawValue) after \(event.attempts) attempt\(event.attempts == 1 ? "" : "s"). \
                It is sent again with a fresh retry budget.</p>
                <form method="post" action="/events/\(event.id)/retry">\(ConsolePage.csrfField(csrf))\
                <button type="submit" class="danger">Retry 1 event</button> <a href="/events/\(event.id)">Cancel</a></form>
                """)
    }

    /// Confirmation for every dead event of a search.
    static func confirmMany(search: ConsoleSearch, count: Int, viewer: ConsoleViewer, csrf: String) -> HTML {
        let hidden = [
            ("call_id", search.callID), ("webservice", search.webservice), ("since", search.since), ("until", search.until),
        ].compactMap { name, value -> HTML? in
            ConsoleSearch.given(value).map { "<input type=\"hidden\" name=\"\(name)\" value=\"\($0)\">" }
        }
        var described: [HTML] = []
        if let call = ConsoleSearch.given(search.callID) { described.append("call <span class=\"mono\">\(call)</span>") }
        if let name = ConsoleSearch.given(search.webservice) { described.append("webservice \(name)") }
        if let since = ConsoleSearch.given(search.since) { described.append("created since \(since)") }
        if let until = ConsoleSearch.given(search.until) { described.append("created before \(until)") }
        let scope: HTML = described.isEmpty ? "every webservice, any time" : .joined(described.enumerated().map { $0.offset == 0 ? $0.element : ", \($0.element)" })
        guard count > 0 else {
            return ConsolePage.message(
                title: "Nothing to retry", viewer: viewer, text: "No dead event matches this search.", back: ("/events", "Back to events"))
        }
        return ConsolePage.render(
            title: "Retry \(count) dead event\(count == 1 ? "" : "s")?", viewer: viewer,
            body: """
                <p class="message">Retry <strong>\(count) dead event\(count == 1 ? "" : "s")</strong> (\(scope)). \
                Each is sent again with a fresh retry budget; fix the webservice first if its configuration was the cause.</p>
                <form method="post" action="/retry">\(ConsolePage.csrfField(csrf))\(hidden)<input type="hidden" name="expected" value="\(count)">\
                <button type="submit" class="danger">Retry \(count) event\(count == 1 ? "" : "s")</button> \
                <a href="/events?\(search.query)">Cancel</a></form>
                """)
    }

    /// What a retry did.
    static func result(_ result: RequeueResult, viewer: ConsoleViewer, back: String) -> HTML {
        var lines: [HTML] = ["<li>Requeued \(result.requeued.count) event\(result.requeued.count == 1 ? "" : "s").</li>"]
        if !result.inFlight.isEmpty {
            lines.append("<li>Skipped, being delivered now: \(result.inFlight.map(String.init).joined(separator: " "))</li>")
        }
        if !result.erased.isEmpty {
            lines.append("<li>Skipped, private and their data erased: \(result.erased.map(String.init).joined(separator: " "))</li>")
        }
        if !result.notFound.isEmpty {
            lines.append("<li>Not found: \(result.notFound.map(String.init).joined(separator: " "))</li>")
        }
        return ConsolePage.render(
            title: "Retried", viewer: viewer, body: "<ul class=\"message\">\(lines)</ul><p><a href=\"\(back)\">Back</a></p>")
    }
}

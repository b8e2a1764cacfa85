import PostCall

/// One event and every attempt: what `postcall show` prints.
enum EventPage {
    static func render(event: EventSummary, attempts: [AttemptSummary], isPrivate: Bool, viewer: ConsoleViewer) -> HTML {
        var fields: [HTML] = [
            "<dt>State</dt><dd class=\"state state-\(event.state.rawValue)\">\(event.state.rawValue), \(event.attempts) attempt\(event.attempts == 1 ? "" : "s")</dd>",
            "<dt>Webservice</dt><dd>\(event.webservice)</dd>",
            """
            <dt>Call</dt><dd><span class="mono">\(event.callID)</span> \
            <a href="/events?call_id=\(TemplateEncoding.formComponent.encode(event.callID))">every event of this call</a></dd>
            """,
            "<dt>Reason</dt><dd>\(event.reason)</dd>",
        ]
        if isPrivate {
            fields.append("<dt>Private</dt><dd>yes: variables, requests and responses are not kept</dd>")
        }
        fields.append("<dt>Created</dt><dd class=\"mono\">\(event.createdAt)</dd>")
        if let delivered = event.deliveredAt { fields.append("<dt>Delivered</dt><dd class=\"mono\">\(delivered)</dd>") }
        if let next = event.nextAttemptAt { fields.append("<dt>Next try</dt><dd class=\"mono\">\(next)</dd>") }
        if let error = event.lastError { fields.append("<dt>Last error</dt><dd class=\"error\">\(error)</dd>") }

        var actions = HTML.empty
        if viewer.mayRetry && event.state != .inFlight && !(isPrivate && (event.state == .delivered || event.state == .dead)) {
            actions = "<p><a href=\"/events/\(event.id)/retry\">Retry this event…</a></p>"
        }
        let log: HTML = attempts.isEmpty ? "<p class=\"muted\">No attempt yet.</p>" : .joined(attempts.map(attemptSection))
        return ConsolePage.render(
            title: "Event \(event.id)", viewer: viewer,
            body: """
                <dl class="fields">\(fields)</dl>
                \(actions)
                <h2>Attempts</h2>
                \(log)
                """)
    }

    private static func attemptSection(_ attempt: AttemptSummary) -> HTML {
        let status = attempt.httpStatus.map { "HTTP \($0)" } ?? "no response"
        var parts: [HTML] = [
            """
            <h3>Attempt \(attempt.attempt): <span class="outcome-\(attempt.outcome.rawValue)">\(attempt.outcome.rawValue)</span>, \
            \(status), \(attempt.durationMilliseconds) ms, <span class="mono">\(attempt.startedAt)</span>, worker \(attempt.worker)</h3>
            """
        ]
        if let error = attempt.error { parts.append("<p class=\"error\">\(error)</p>") }
        if let request = attempt.request {
            parts.append("<h4>Request: <span class=\"mono\">\(request.method) \(request.url)</span></h4>")
            parts.append(exchange(request))
            for file in request.files ?? [] {
                let place = file.field.map { "part \($0)" } ?? "as the body"
                parts.append("<p>File \(place): <span class=\"mono\">\(file.name)</span> (\(file.size) bytes, \(file.contentType))</p>")
            }
        }
        // An attempt that got no answer (refused, timed out) keeps an empty response summary.
        if let response = attempt.response, response.status != nil || !response.headers.isEmpty || !response.body.isEmpty {
            parts.append("<h4>Response: \(response.status.map(String.init) ?? "-")</h4>")
            parts.append(exchange(response))
        }
        return "<section class=\"attempt\">\(parts)</section>"
    }

    private static func exchange(_ summary: ExchangeSummary) -> HTML {
        var parts: [HTML] = []
        if !summary.headers.isEmpty {
            let rows = summary.headers.map { header -> HTML in
                "<tr><th class=\"mono\">\(header.first ?? "")</th><td class=\"mono\">\(header.dropFirst().joined(separator: ": "))</td></tr>"
            }
            parts.append("<table class=\"headers\">\(rows)</table>")
        }
        if !summary.body.isEmpty {
            parts.append("<p class=\"muted\">Body, \(summary.bodyBytes) bytes:</p><pre>\(summary.body)</pre>")
        }
        return .joined(parts)
    }
}

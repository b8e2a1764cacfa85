import PostCall

/// Counts, rates, the oldest waiting event, paused webservices and the last day's chart.
enum DashboardPage {
    static func render(stats: OutboxStats, activity: DeliveryActivity, viewer: ConsoleViewer) -> HTML {
        let cards = EventState.allCases.map { state -> HTML in
            let count = stats.states[state.rawValue] ?? 0
            return """
                <a class="card" href="/events?state=\(state.rawValue)"><div class="count state-\(state.rawValue)">\(count)</div>\(state.rawValue)</a>
                """
        }
        var oldest: HTML = "<p>No event is waiting.</p>"
        if let age = stats.oldestPendingAgeSeconds {
            oldest = "<p>Oldest pending event: <strong>\(Timestamp.formatDuration(Int64(age * 1000)))</strong> old.</p>"
        }
        let paused = stats.webservices.filter { $0.pausedUntil != nil }
        let pausedList: HTML = paused.isEmpty
            ? "<p class=\"muted\">No webservice is paused.</p>"
            : "<ul>\(paused.map { row -> HTML in "<li>\(row.name): paused until <span class=\"mono\">\(row.pausedUntil)</span> after \(row.consecutiveFailures) failures in a row</li>" })</ul>"

        let webserviceRows = stats.webservices.map { row -> HTML in
            """
            <tr><td><a href="/events?webservice=\(TemplateEncoding.formComponent.encode(row.name))">\(row.name)</a></td>\
            <td class="number">\(row.pending)</td><td class="number">\(row.inFlight)</td><td class="number">\(row.delivered)</td>\
            <td class="number">\(row.dead)</td><td class="number">\(row.consecutiveFailures)</td><td class="mono">\(row.pausedUntil)</td></tr>
            """
        }
        let windowRows = stats.windows.map { window -> HTML in
            """
            <tr><td>\(window.window)</td><td class="number">\(window.attempts)</td><td class="number">\(window.delivered)</td>\
            <td class="number">\(window.retried)</td><td class="number">\(window.failed)</td>\
            <td class="number">\(window.deliveriesPerMinute.oneDecimal)</td><td class="number">\((window.failureRate * 100).oneDecimal)%</td></tr>
            """
        }
        let body: HTML = """
            <div class="cards">\(cards)</div>
            \(oldest)
            <h2>Attempts per hour, last 24 hours</h2>
            \(DeliveryChart.render(activity))
            <h2>Rates</h2>
            <table><thead><tr><th>Window</th><th class="number">Attempts</th><th class="number">Delivered</th><th class="number">Retried</th>\
            <th class="number">Failed</th><th class="number">Delivered/min</th><th class="number">Failure rate</th></tr></thead>\
            <tbody>\(windowRows)</tbody></table>
            <h2>Webservices</h2>
            <table><thead><tr><th>Webservice</th><th class="number">Pending</th><th class="number">In flight</th>\
            <th class="number">Delivered</th><th class="number">Dead</th><th class="number">Failing</th><th>Paused until</th></tr></thead>\
            <tbody>\(webserviceRows)</tbody></table>
            <h2>Paused webservices</h2>
            \(pausedList)
            """
        return ConsolePage.render(title: "Dashboard", viewer: viewer, current: "/", refreshSeconds: 60, body: body)
    }
}

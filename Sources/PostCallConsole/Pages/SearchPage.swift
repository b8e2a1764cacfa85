import PostCall

/// Events matching a search, newest first, a page at a time.
enum SearchPage {
    static func render(
        search: ConsoleSearch, page: HistoryPage?, webservices: [String], error: String?, deadMatching: Int?, viewer: ConsoleViewer
    ) -> HTML {
        let states = EventState.allCases.map { state -> HTML in
            let selected: HTML = search.state == state.rawValue ? " selected" : ""
            return "<option value=\"\(state.rawValue)\"\(selected)>\(state.rawValue)</option>"
        }
        let options = webservices.map { name -> HTML in "<option value=\"\(name)\">" }
        let form: HTML = """
            <form class="search" method="get" action="/events">
            <label>Call id<input name="call_id" value="\(search.callID)" autofocus></label>
            <label>Webservice<input name="webservice" value="\(search.webservice)" list="webservices"></label>
            <datalist id="webservices">\(options)</datalist>
            <label>State<select name="state"><option value="">any</option>\(states)</select></label>
            <label>Since<input name="since" value="\(search.since)" placeholder="2h, 7d or RFC 3339"></label>
            <label>Until<input name="until" value="\(search.until)" placeholder="RFC 3339 or 30m"></label>
            <button type="submit" class="primary">Search</button>
            </form>
            """
        guard let page else {
            return ConsolePage.render(
                title: "Events", viewer: viewer, current: "/events", body: "\(form)<p class=\"error\">\(error)</p>")
        }
        var rows: [HTML] = []
        for event in page.events {
            rows.append(
                """
                <tr><td class="number"><a href="/events/\(event.id)">\(event.id)</a></td><td class="mono">\(event.createdAt)</td>\
                <td>\(event.webservice)</td><td class="mono">\(event.callID)</td>\
                <td class="state state-\(event.state.rawValue)">\(event.state.rawValue)</td><td class="number">\(event.attempts)</td>\
                <td>\(event.lastError.map { String($0.prefix(160)) })</td></tr>
                """)
        }
        let table: HTML = rows.isEmpty
            ? "<p class=\"message\">No event matches.</p>"
            : """
            <table class="events"><thead><tr><th class="number">ID</th><th>Created (UTC)</th><th>Webservice</th><th>Call</th>\
            <th>State</th><th class="number">Tries</th><th>Last error</th></tr></thead><tbody>\(rows)</tbody></table>
            """
        var next = HTML.empty
        if let cursor = page.next {
            var following = search
            following.cursor = cursor.token
            next = "<p class=\"pager\"><a href=\"/events?\(following.query)\" rel=\"next\">Older events →</a></p>"
        }
        var retry = HTML.empty
        if let deadMatching, deadMatching > 0, viewer.mayRetry {
            retry = """
                <p><a href="/retry?\(search.deadOnly.query)">Retry the \(deadMatching) dead event\(deadMatching == 1 ? "" : "s") of this search…</a></p>
                """
        }
        let first: HTML = ConsoleSearch.given(search.cursor) == nil ? .empty : "<p class=\"muted\">Showing older events. <a href=\"/events?\(firstPage(search))\">Newest</a></p>"
        return ConsolePage.render(title: "Events", viewer: viewer, current: "/events", body: "\(form)\(first)\(table)\(next)\(retry)")
    }

    private static func firstPage(_ search: ConsoleSearch) -> String {
        var first = search
        first.cursor = nil
        return first.query
    }
}

/// The frame every page shares: head, navigation, who is signed in.
enum ConsolePage {
    /// `refreshSeconds`: the browser reloads the page that often (the dashboard, left open on a
    /// wall screen), without any script.
    static func render(title: String, viewer: ConsoleViewer?, current: String = "", refreshSeconds: Int? = nil, body: HTML) -> HTML {
        var navigation = HTML.empty
        if let viewer {
            let links: [(String, String)] = [("/", "Dashboard"), ("/events", "Events")]
            let items = links.map { path, label -> HTML in
                path == current ? "<a href=\"\(path)\" aria-current=\"page\">\(label)</a>" : "<a href=\"\(path)\">\(label)</a>"
            }
            var signOut = HTML.empty
            if let csrf = viewer.csrfToken {
                signOut = """
                    <form method="post" action="/logout" class="inline">\(csrfField(csrf))<button type="submit">Sign out</button></form>
                    """
            }
            navigation = """
                <nav><span class="brand">postcall</span>\(items)<span class="who">\(viewer.name) (\(viewer.role.rawValue))</span>\(signOut)</nav>
                """
        }
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            \(refreshSeconds.map { seconds -> HTML in "<meta http-equiv=\"refresh\" content=\"\(seconds)\">" } ?? .empty)
            <title>\(title) · postcall</title>
            <link rel="stylesheet" href="/static/console.css">
            </head>
            <body>
            \(navigation)
            <main>
            <h1>\(title)</h1>
            \(body)
            </main>
            </body>
            </html>

            """
    }

    static func csrfField(_ token: String) -> HTML {
        "<input type=\"hidden\" name=\"csrf\" value=\"\(token)\">"
    }

    /// A short message page: not found, not allowed, bad input.
    static func message(title: String, viewer: ConsoleViewer?, text: String, back: (href: String, label: String)? = nil) -> HTML {
        let link: HTML = back.map { "<p><a href=\"\($0.href)\">\($0.label)</a></p>" } ?? .empty
        return render(title: title, viewer: viewer, body: "<p class=\"message\">\(text)</p>\(link)")
    }

    static let stylesheet = """
        :root { --ok: #1a7f37; --bad: #cf222e; --wait: #9a6700; --line: #d0d7de; --muted: #57606a; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: #1f2328; background: #f6f8fa; }
        nav { display: flex; gap: 1.2em; align-items: center; padding: .6em 1.5em; background: #24292f; color: #fff; }
        nav a { color: #fff; text-decoration: none; } nav a[aria-current] { font-weight: 600; text-decoration: underline; }
        nav .brand { font-weight: 700; } nav .who { margin-left: auto; color: #d0d7de; }
        nav button { background: none; color: #fff; border: 1px solid #57606a; border-radius: 4px; padding: .15em .6em; cursor: pointer; }
        main { max-width: 1200px; margin: 0 auto; padding: 1em 1.5em 3em; }
        h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
        table { border-collapse: collapse; width: 100%; background: #fff; }
        th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: #f0f3f6; font-weight: 600; }
        td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
        code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
        pre { white-space: pre-wrap; word-break: break-all; background: #fff; border: 1px solid var(--line); padding: .5em; margin: .3em 0; max-height: 24em; overflow: auto; }
        .state { font-weight: 600; } .state-delivered { color: var(--ok); } .state-dead { color: var(--bad); }
        .state-pending, .state-in_flight { color: var(--wait); }
        .outcome-delivered { color: var(--ok); } .outcome-failed { color: var(--bad); } .outcome-retry { color: var(--wait); }
        form.search { display: flex; flex-wrap: wrap; gap: .6em; align-items: end; margin-bottom: 1em; }
        form.search label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
        input, select, button { font: inherit; padding: .3em .5em; }
        button.primary { background: #1f883d; color: #fff; border: 0; border-radius: 4px; padding: .4em 1em; cursor: pointer; }
        button.danger { background: var(--bad); color: #fff; border: 0; border-radius: 4px; padding: .4em 1em; cursor: pointer; }
        .inline { display: inline; }
        dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .25em 1.2em; background: #fff; padding: .8em; border: 1px solid var(--line); }
        dl.fields dt { color: var(--muted); } dl.fields dd { margin: 0; }
        .attempt { background: #fff; border: 1px solid var(--line); padding: .6em .9em; margin: .8em 0; }
        .attempt h3 { font-size: 1em; margin: 0 0 .4em; }
        .cards { display: flex; flex-wrap: wrap; gap: .8em; }
        .card { background: #fff; border: 1px solid var(--line); padding: .6em 1em; min-width: 9em; }
        .card .count { font-size: 1.6em; font-weight: 600; }
        .muted { color: var(--muted); } .message { background: #fff; border: 1px solid var(--line); padding: .8em; }
        .error { color: var(--bad); }
        .pager { margin-top: .8em; }
        svg.chart { background: #fff; border: 1px solid var(--line); width: 100%; height: auto; }
        form.login { max-width: 22em; background: #fff; border: 1px solid var(--line); padding: 1.2em; display: flex; flex-direction: column; gap: .7em; }
        """
}

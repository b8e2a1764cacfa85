import Hummingbird
import PostCall

extension ConsoleServer {
    func dashboard(viewer: ConsoleViewer) async throws -> Response {
        let (stats, activity) = try await store.run { store in (try store.stats(), try store.deliveryActivity()) }
        return Self.html(DashboardPage.render(stats: stats, activity: activity, viewer: viewer))
    }

    func search(request: Request, context: ConsoleRequestContext, viewer: ConsoleViewer) async throws -> Response {
        let search = try request.uri.decodeQuery(as: ConsoleSearch.self, context: context)
        let webservices = try await store.run { store in try store.webserviceNames() }
        let filter: HistoryFilter
        do {
            filter = try search.filter(limit: Self.pageSize)
        } catch let error as PostCallError {
            return Self.html(
                SearchPage.render(search: search, page: nil, webservices: webservices, error: error.message, deadMatching: nil, viewer: viewer),
                status: .badRequest)
        }
        let (page, dead) = try await store.run { store in
            let page = try store.historyPage(matching: filter)
            var deadFilter = filter
            deadFilter.state = .dead
            // Counted only where the search already narrows to dead events: a count over all of
            // history on every search would cost what the cursor saves.
            let dead = filter.state == .dead && viewer.mayRetry ? try store.countEvents(matching: deadFilter) : nil
            return (page, dead)
        }
        return Self.html(SearchPage.render(search: search, page: page, webservices: webservices, error: nil, deadMatching: dead, viewer: viewer))
    }

    func event(context: ConsoleRequestContext, viewer: ConsoleViewer) async throws -> Response {
        let id = try eventID(context)
        let (event, attempts, isPrivate) = try await loadEvent(id)
        return Self.html(EventPage.render(event: event, attempts: attempts, isPrivate: isPrivate, viewer: viewer))
    }

    func confirmRetry(context: ConsoleRequestContext, viewer: ConsoleViewer) async throws -> Response {
        let csrf = try requireRetry(viewer)
        let (event, _, _) = try await loadEvent(try eventID(context))
        return Self.html(RetryPage.confirmOne(event: event, viewer: viewer, csrf: csrf))
    }

    func retry(context: ConsoleRequestContext, viewer: ConsoleViewer) async throws -> Response {
        let id = try eventID(context)
        let result = try await retryEvent(id, by: viewer)
        return Self.html(RetryPage.result(result, viewer: viewer, back: "/events/\(id)"))
    }

    func confirmRetryMany(request: Request, context: ConsoleRequestContext, viewer: ConsoleViewer) async throws -> Response {
        let csrf = try requireRetry(viewer)
        let search = try request.uri.decodeQuery(as: ConsoleSearch.self, context: context).deadOnly
        let filter = try search.filter(limit: 0)
        let count = try await store.run { store in try store.countEvents(matching: filter) }
        return Self.html(RetryPage.confirmMany(search: search, count: count, viewer: viewer, csrf: csrf))
    }

    func retryMany(request: Request, context: ConsoleRequestContext, viewer: ConsoleViewer) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        let search = try URLEncodedFormDecoder().decode(ConsoleSearch.self, from: String(buffer: body))
        let result = try await retryDeadEvents(of: search, by: viewer)
        return Self.html(RetryPage.result(result, viewer: viewer, back: "/events?" + search.deadOnly.query))
    }

    // MARK: Shared by pages and API

    func loadEvent(_ id: Int64) async throws -> (EventSummary, [AttemptSummary], Bool) {
        try await store.run { store in
            guard let event = try store.event(id: id) else {
                throw PostCallError(.notFound, "There is no event \(id) in this outbox.")
            }
            return (event, try store.attempts(eventID: id), try store.isPrivateWebservice(named: event.webservice))
        }
    }

    func eventID(_ context: ConsoleRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw PostCallError(.notFound, "An event id is a positive number.")
        }
        return id
    }

    /// Requeues one event for `viewer`, if their role allows, and logs it with their name.
    func retryEvent(_ id: Int64, by viewer: ConsoleViewer) async throws -> RequeueResult {
        _ = try requireRetry(viewer)
        let result = try await store.run { store in try store.requeue(ids: [id]) }
        logRetry(result, by: viewer, scope: "event \(id)")
        return result
    }

    /// Requeues every dead event of `search` (whatever state it named) for `viewer`, if their
    /// role allows, and logs it with their name.
    func retryDeadEvents(of search: ConsoleSearch, by viewer: ConsoleViewer) async throws -> RequeueResult {
        _ = try requireRetry(viewer)
        let dead = search.deadOnly
        let filter = try dead.filter(limit: 0)
        let result = try await store.run { store in try store.requeue(matching: filter) }
        logRetry(result, by: viewer, scope: "dead events matching \(dead.query)")
        return result
    }

    /// The viewer's CSRF token if they may retry; otherwise the refusal says why.
    func requireRetry(_ viewer: ConsoleViewer) throws -> String {
        guard viewer.role.mayRetry else {
            throw ConsoleRefusal("Your role, \(viewer.role.rawValue), may read but not retry. Ask a user with the operator role.")
        }
        guard let csrf = viewer.csrfToken else {
            throw ConsoleRefusal("HTTP Basic may only read; sign in at /login to retry.")
        }
        return csrf
    }

    func logRetry(_ result: RequeueResult, by viewer: ConsoleViewer, scope: String) {
        logger.notice(
            "console retry",
            metadata: [
                "user": "\(viewer.name)", "scope": "\(scope)", "requeued": "\(result.requeued.count)",
                "events": "\(result.requeued.prefix(100).map(String.init).joined(separator: ","))",
                "skipped": "\(result.inFlight.count + result.erased.count + result.notFound.count)",
            ])
    }
}

/// A request the signed-in user is not allowed to make (403).
struct ConsoleRefusal: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

import Hummingbird
import PostCall

/// `/api/...`: the console's data as JSON, with the keys of `history`, `show` and `stats`.
extension ConsoleServer {
    func addAPI(to router: RouterGroup<ConsoleRequestContext>) {
        router.get("/api/session") { _, context in
            try await self.api(context) { viewer in
                try Self.json(SessionBody(user: viewer.name, role: viewer.role.rawValue, csrfToken: viewer.csrfToken))
            }
        }
        router.get("/api/events") { request, context in
            try await self.api(context) { _ in
                struct Limit: Decodable { var limit: Int? }
                let search = try request.uri.decodeQuery(as: ConsoleSearch.self, context: context)
                let limit = try request.uri.decodeQuery(as: Limit.self, context: context).limit ?? Self.pageSize
                guard (1...Self.apiPageLimit).contains(limit) else {
                    throw PostCallError(.invalidInput, "limit must be 1 to \(Self.apiPageLimit)")
                }
                let filter = try search.filter(limit: limit)
                let page = try await self.store.run { store in try store.historyPage(matching: filter) }
                return try Self.json(EventsBody(events: page.events, nextCursor: page.next?.token))
            }
        }
        router.get("/api/events/:id") { _, context in
            try await self.api(context) { _ in
                let (event, attempts, _) = try await self.loadEvent(try self.eventID(context))
                return try Self.json(EventReport(event: event, attemptLog: attempts))
            }
        }
        router.get("/api/stats") { _, context in
            try await self.api(context) { _ in
                let access = self.configuration.filesAccess
                return try Self.json(try await self.store.run { store in try store.stats(countingFilesIn: access) })
            }
        }
        router.get("/api/activity") { _, context in
            try await self.api(context) { _ in
                let activity = try await self.store.run { store in try store.deliveryActivity() }
                return try Self.json(ActivityBody(activity))
            }
        }
        router.post("/api/events/:id/retry") { _, context in
            try await self.api(context) { viewer in
                try Self.json(RetryBody(try await self.retryEvent(try self.eventID(context), by: viewer)))
            }
        }
        router.post("/api/retry") { request, context in
            try await self.api(context) { viewer in
                let search = try request.uri.decodeQuery(as: ConsoleSearch.self, context: context)
                return try Self.json(RetryBody(try await self.retryDeadEvents(of: search, by: viewer)))
            }
        }
    }

    private func api(_ context: ConsoleRequestContext, _ body: (ConsoleViewer) async throws -> Response) async throws -> Response {
        try await respond(context, isAPI: true, body)
    }
}

private struct SessionBody: Encodable {
    var user: String
    var role: String
    var csrfToken: String?

    enum CodingKeys: String, CodingKey {
        case user, role
        case csrfToken = "csrf_token"
    }
}

private struct EventsBody: Encodable {
    var events: [EventSummary]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case events
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(events, forKey: .events)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

private struct ActivityBody: Encodable {
    struct Hour: Encodable {
        var start: String
        var delivered: Int
        var failed: Int
    }
    var hours: [Hour]

    init(_ activity: DeliveryActivity) {
        hours = activity.hours.map { Hour(start: Timestamp.rfc3339($0.start), delivered: $0.delivered, failed: $0.failed) }
    }
}

private struct RetryBody: Encodable {
    var requeued: [Int64]
    var inFlight: [Int64]
    var erased: [Int64]
    var notFound: [Int64]

    init(_ result: RequeueResult) {
        requeued = result.requeued
        inFlight = result.inFlight
        erased = result.erased
        notFound = result.notFound
    }

    enum CodingKeys: String, CodingKey {
        case requeued, erased
        case inFlight = "in_flight"
        case notFound = "not_found"
    }
}

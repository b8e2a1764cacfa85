import FoundationEssentials
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import PostCall

/// `postcall console`: the support console, pages and JSON, over the same outbox as the CLI.
public struct ConsoleServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var location: OutboxLocation
        public var usersFile: ConsoleUserFile
        /// Marks the session cookie `Secure`, for a console behind a TLS reverse proxy. Also set
        /// per request when the proxy sends `X-Forwarded-Proto: https`.
        public var secureCookies: Bool
        /// How long a refused password waits before the answer.
        public var failureDelay: Duration
        public var filesAccess: FileAccess

        public init(
            host: String, port: Int, location: OutboxLocation, usersFile: ConsoleUserFile, secureCookies: Bool = false,
            failureDelay: Duration = .seconds(1), filesAccess: FileAccess
        ) {
            self.host = host
            self.port = port
            self.location = location
            self.usersFile = usersFile
            self.secureCookies = secureCookies
            self.failureDelay = failureDelay
            self.filesAccess = filesAccess
        }
    }

    static let sessionCookie = "postcall_session"
    static let loginCookie = "postcall_login"
    static let pageSize = 50
    static let apiPageLimit = 1_000

    let configuration: Configuration
    let store: ConsoleStore
    let users: ConsoleUsers
    let sessions = ConsoleSessions()
    let hasher = PasswordHasher()
    let logger: Logger

    public init(configuration: Configuration, logger: Logger) throws {
        self.configuration = configuration
        self.store = try ConsoleStore(location: configuration.location)
        self.users = ConsoleUsers(file: configuration.usersFile)
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT. `onListening` gets the address bound (the port chosen
    /// when 0 was asked for).
    public func run(onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        if try users.count() == 0 {
            logger.warning(
                "no console users yet: add one with `postcall console user add NAME --role operator`",
                metadata: ["users": "\(configuration.usersFile.path)"])
        }
        let application = Application(
            router: buildRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                onListening(channel.localAddress?.ipAddress ?? "?", channel.localAddress?.port ?? 0)
            },
            logger: logger)
        try await application.runService()
    }

    func buildRouter() -> Router<ConsoleRequestContext> {
        let router = Router(context: ConsoleRequestContext.self)
        router.add(middleware: SecurityHeaders())
        router.get("/static/console.css") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                body: .init(byteBuffer: ByteBuffer(string: ConsolePage.stylesheet)))
        }
        router.get("/login") { request, _ in self.loginForm(request: request, error: nil) }
        router.post("/login") { request, context in try await self.signIn(request: request, context: context) }

        let signedIn = router.group().add(
            middleware: ConsoleAccess(users: users, sessions: sessions, hasher: hasher, failureDelay: configuration.failureDelay, logger: logger))
        signedIn.post("/logout") { _, context in self.signOut(context: context) }
        signedIn.get("/") { _, context in try await self.page(context) { try await self.dashboard(viewer: $0) } }
        signedIn.get("/events") { request, context in try await self.page(context) { try await self.search(request: request, context: context, viewer: $0) } }
        signedIn.get("/events/:id") { _, context in try await self.page(context) { try await self.event(context: context, viewer: $0) } }
        signedIn.get("/events/:id/retry") { _, context in try await self.page(context) { try await self.confirmRetry(context: context, viewer: $0) } }
        signedIn.post("/events/:id/retry") { _, context in try await self.page(context) { try await self.retry(context: context, viewer: $0) } }
        signedIn.get("/retry") { request, context in try await self.page(context) { try await self.confirmRetryMany(request: request, context: context, viewer: $0) } }
        signedIn.post("/retry") { request, context in try await self.page(context) { try await self.retryMany(request: request, context: context, viewer: $0) } }
        addAPI(to: signedIn)
        // Anything else: a page that says so, with the same security headers as every other.
        router.get("**") { request, _ in
            try Self.failure(
                .notFound, "There is no page at \(request.uri.path).", isAPI: request.uri.path.hasPrefix("/api/"), viewer: nil)
        }
        return router
    }

    // MARK: Answers

    static func html(_ page: HTML, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: page.description)))
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes = try encoder.encode(value)
        bytes.append(UInt8(ascii: "\n"))
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func redirect(to location: String, cookies: [Cookie] = []) -> Response {
        var response = Response(status: .seeOther, headers: [.location: location])
        for cookie in cookies { response.setCookie(cookie) }
        return response
    }

    /// An error as a page or as JSON `{"error": {"code", "message"}}`.
    static func failure(_ status: HTTPResponse.Status, _ message: String, isAPI: Bool, viewer: ConsoleViewer?) throws -> Response {
        if isAPI {
            struct Body: Encodable {
                struct Detail: Encodable { var code: Int; var message: String }
                var error: Detail
            }
            return try json(Body(error: .init(code: status.code, message: message)), status: status)
        }
        return html(ConsolePage.message(title: status.reasonPhrase, viewer: viewer, text: message, back: ("/", "Dashboard")), status: status)
    }

    /// Runs a page's handler and turns failures into pages a support engineer can act on.
    func page(_ context: ConsoleRequestContext, _ body: (ConsoleViewer) async throws -> Response) async throws -> Response {
        try await respond(context, isAPI: false, body)
    }

    /// Runs a handler; a refusal or bad input becomes a page, or for the API
    /// `{"error": {"code", "message"}}`.
    func respond(
        _ context: ConsoleRequestContext, isAPI: Bool, _ body: (ConsoleViewer) async throws -> Response
    ) async throws -> Response {
        let viewer = try context.requireViewer()
        do {
            return try await body(viewer)
        } catch let error as PostCallError {
            return try Self.failure(Self.status(of: error), error.message, isAPI: isAPI, viewer: viewer)
        } catch let refusal as ConsoleRefusal {
            return try Self.failure(.forbidden, refusal.message, isAPI: isAPI, viewer: viewer)
        }
    }

    static func status(of error: PostCallError) -> HTTPResponse.Status {
        switch error.code {
        case .invalidInput: return .badRequest
        case .notFound: return .notFound
        default: return .serviceUnavailable
        }
    }

    /// A name for the log: as given if it could be a user's, otherwise only its length.
    static func loggable(_ name: String) -> String {
        ConsoleUser.isValidName(name) ? name : "(\(name.utf8.count) bytes, not a valid name)"
    }
}

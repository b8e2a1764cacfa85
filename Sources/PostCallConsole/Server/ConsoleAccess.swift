import FoundationEssentials
import HTTPTypes
import Hummingbird
import Logging
import NIOPosix
import PostCall

/// Who may pass: a session cookie from the sign-in form, or HTTP Basic for reading the JSON
/// API. Requests that change anything must carry the session's CSRF token (form field `csrf`
/// or header `X-CSRF-Token`); Basic may only read, because a browser replays Basic credentials
/// to any site that links here.
struct ConsoleAccess: RouterMiddleware {
    typealias Context = ConsoleRequestContext

    let users: ConsoleUsers
    let sessions: ConsoleSessions
    let hasher: PasswordHasher
    let failureDelay: Duration
    let logger: Logger

    func handle(
        _ request: Request, context: ConsoleRequestContext, next: (Request, ConsoleRequestContext) async throws -> Response
    ) async throws -> Response {
        var request = request
        var context = context
        let isAPI = request.uri.path.hasPrefix("/api/")
        let isReading = request.method == .get || request.method == .head

        if let token = request.cookies[ConsoleServer.sessionCookie]?.value,
            let session = sessions.session(token: token, now: Timestamp.now())
        {
            guard let user = try users.user(named: session.userName) else {
                // Removed from the users file since signing in.
                sessions.close(token: token)
                return unauthenticated(request, isAPI: isAPI)
            }
            context.viewer = ConsoleViewer(name: user.name, role: user.role, csrfToken: session.csrfToken)
            context.sessionToken = token
            if !isReading {
                let given = try await submittedCSRFToken(&request, context: context)
                guard let given, ConsoleSessions.sameSecret(given, session.csrfToken) else {
                    logger.warning("console request refused: missing or wrong CSRF token", metadata: ["user": "\(user.name)", "path": "\(request.uri.path)"])
                    return try ConsoleServer.failure(
                        .forbidden, "This form has expired or did not come from this console. Go back, reload the page and try again.",
                        isAPI: isAPI, viewer: context.viewer)
                }
            }
            return try await next(request, context)
        }

        if isAPI, let credentials = Self.basicCredentials(request) {
            let user = try users.user(named: credentials.name)
            let hasher = self.hasher
            let valid = try await NIOThreadPool.singleton.runIfActive { hasher.verify(credentials.password, against: user?.passwordHash) }
            guard valid, let user else {
                logger.notice("console sign-in refused", metadata: ["user": "\(ConsoleServer.loggable(credentials.name))", "via": "basic"])
                try await Task.sleep(for: failureDelay)
                return try ConsoleServer.failure(.unauthorized, "wrong name or password", isAPI: true, viewer: nil)
            }
            guard isReading else {
                return try ConsoleServer.failure(
                    .forbidden, "HTTP Basic may only read; sign in at /login and send the session's X-CSRF-Token to change anything",
                    isAPI: true, viewer: nil)
            }
            context.viewer = ConsoleViewer(name: user.name, role: user.role, csrfToken: nil)
            return try await next(request, context)
        }
        return unauthenticated(request, isAPI: isAPI)
    }

    private func unauthenticated(_ request: Request, isAPI: Bool) -> Response {
        if isAPI {
            return (try? ConsoleServer.failure(.unauthorized, "sign in first: a session cookie from /login, or HTTP Basic to read", isAPI: true, viewer: nil))
                ?? Response(status: .unauthorized)
        }
        // Back to where the user was going once signed in, if it was a page to read.
        let target = request.method == .get ? request.uri.description : "/"
        return ConsoleServer.redirect(to: "/login?next=" + TemplateEncoding.formComponent.encode(target))
    }

    /// The CSRF token of a state-changing request: the header, or the form's `csrf` field. The
    /// body is collected (bounded by the context's upload limit) and stays readable for the route.
    private func submittedCSRFToken(_ request: inout Request, context: ConsoleRequestContext) async throws -> String? {
        if let name = HTTPField.Name.csrfToken, let header = request.headers[name] { return header }
        guard request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true else { return nil }
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        struct Field: Decodable { var csrf: String? }
        return (try? URLEncodedFormDecoder().decode(Field.self, from: String(buffer: body)))?.csrf
    }

    private static func basicCredentials(_ request: Request) -> (name: String, password: String)? {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingWhitespace())
        else { return nil }
        let text = String(decoding: decoded, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}

/// Headers every answer carries: no script, no framing, no caching of history pages.
struct SecurityHeaders: RouterMiddleware {
    typealias Context = ConsoleRequestContext

    func handle(
        _ request: Request, context: ConsoleRequestContext, next: (Request, ConsoleRequestContext) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        if let name = HTTPField.Name.referrerPolicy { response.headers[name] = "same-origin" }
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

extension HTTPField.Name {
    /// Where API clients send the session's CSRF token. (Optional only because the initializer
    /// is failable: these names are valid.)
    static let csrfToken = HTTPField.Name("X-CSRF-Token")
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")
    /// Set by a TLS reverse proxy; `https` makes the cookies `Secure`.
    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")
}

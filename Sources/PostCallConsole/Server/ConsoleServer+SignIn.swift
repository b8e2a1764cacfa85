import FoundationEssentials
import HTTPTypes
import Hummingbird
import NIOPosix
import PostCall

extension ConsoleServer {
    /// The form, with a fresh token in a cookie and in the form: a sign-in posted from another
    /// site has neither (login CSRF).
    func loginForm(request: Request, error: String?, status: HTTPResponse.Status = .ok) -> Response {
        let token = ConsoleSessions.randomToken()
        let next = Self.localTarget(request.uri.queryParameters["next"].map(String.init))
        var response = Self.html(LoginPage.render(loginToken: token, error: error, next: next), status: status)
        response.setCookie(cookie(Self.loginCookie, token, request: request, maxAge: 3600))
        return response
    }

    func signIn(request: Request, context: ConsoleRequestContext) async throws -> Response {
        struct Form: Decodable {
            var csrf: String?
            var name: String?
            var password: String?
            var next: String?
        }
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        let form = (try? URLEncodedFormDecoder().decode(Form.self, from: String(buffer: body))) ?? Form()
        guard let expected = request.cookies[Self.loginCookie]?.value, let given = form.csrf,
            ConsoleSessions.sameSecret(given, expected)
        else {
            return loginForm(request: request, error: "The sign-in form expired. Please sign in again.", status: .forbidden)
        }
        let name = form.name ?? ""
        let password = form.password ?? ""
        let user = try users.user(named: name)
        let hasher = self.hasher
        let valid = try await NIOThreadPool.singleton.runIfActive { hasher.verify(password, against: user?.passwordHash) }
        guard valid, let user else {
            logger.notice("console sign-in refused", metadata: ["user": "\(Self.loggable(name))", "via": "form"])
            try await Task.sleep(for: configuration.failureDelay)
            return loginForm(request: request, error: "Wrong name or password.", status: .unauthorized)
        }
        let session = sessions.open(userName: user.name, now: Timestamp.now())
        logger.info("console sign-in", metadata: ["user": "\(user.name)", "role": "\(user.role.rawValue)"])
        return Self.redirect(
            to: Self.localTarget(form.next),
            cookies: [
                cookie(Self.sessionCookie, session.token, request: request, maxAge: Int(sessions.lifetime / 1000)),
                cookie(Self.loginCookie, "", request: request, maxAge: 0),
            ])
    }

    func signOut(context: ConsoleRequestContext) -> Response {
        if let token = context.sessionToken { sessions.close(token: token) }
        if let viewer = context.viewer { logger.info("console sign-out", metadata: ["user": "\(viewer.name)"]) }
        var response = Self.redirect(to: "/login")
        response.setCookie(Cookie(name: Self.sessionCookie, value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: .strict))
        return response
    }

    /// HttpOnly, SameSite=Strict, the whole console; Secure behind TLS.
    func cookie(_ name: String, _ value: String, request: Request, maxAge: Int) -> Cookie {
        let forwarded = HTTPField.Name.forwardedProto.map { request.headers[values: $0] } ?? []
        let forwardedTLS = forwarded.contains { $0.lowercased() == "https" }
        return Cookie(
            name: name, value: value, maxAge: maxAge, path: "/", secure: configuration.secureCookies || forwardedTLS, httpOnly: true,
            sameSite: .strict)
    }

    /// Where to go after signing in: a path on this console, never another site.
    static func localTarget(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.hasPrefix("/\\"),
            !next.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f })
        else { return "/" }
        return next
    }
}

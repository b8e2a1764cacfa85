import FoundationEssentials
import PostCall
import Synchronization

/// A signed-in browser: the cookie's token, the token its forms must send back, and who.
public struct ConsoleSession: Sendable, Equatable {
    public var token: String
    public var csrfToken: String
    public var userName: String
    public var startedAt: Milliseconds
    public var lastSeenAt: Milliseconds
}

/// Sessions held in the console's memory (a restart signs everyone out). A session ends after
/// `idleTimeout` without a request, and `lifetime` after it started, whatever happens.
public final class ConsoleSessions: Sendable {
    public let idleTimeout: Milliseconds
    public let lifetime: Milliseconds
    private let sessions = Mutex<[String: ConsoleSession]>([:])

    public init(idleTimeout: Milliseconds = 2 * 3_600_000, lifetime: Milliseconds = 12 * 3_600_000) {
        self.idleTimeout = idleTimeout
        self.lifetime = lifetime
    }

    /// A new session for `userName`.
    public func open(userName: String, now: Milliseconds) -> ConsoleSession {
        let session = ConsoleSession(
            token: Self.randomToken(), csrfToken: Self.randomToken(), userName: userName, startedAt: now, lastSeenAt: now)
        sessions.withLock { sessions in
            sessions = sessions.filter { isLive($0.value, now: now) }
            sessions[session.token] = session
        }
        return session
    }

    /// The live session with this token, marked as seen now; `nil` if there is none or it expired.
    public func session(token: String, now: Milliseconds) -> ConsoleSession? {
        sessions.withLock { sessions in
            guard var session = sessions[token] else { return nil }
            guard isLive(session, now: now) else {
                sessions[token] = nil
                return nil
            }
            session.lastSeenAt = now
            sessions[token] = session
            return session
        }
    }

    public func close(token: String) {
        sessions.withLock { $0[token] = nil }
    }

    private func isLive(_ session: ConsoleSession, now: Milliseconds) -> Bool {
        now - session.lastSeenAt < idleTimeout && now - session.startedAt < lifetime
    }

    /// 32 random bytes from the system's generator (getrandom), base64url without padding.
    public static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<4).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64) { Array($0) } }
        return Data(bytes).base64EncodedString()
            .replacing("+", with: "-").replacing("/", with: "_").replacing("=", with: "")
    }

    /// Compares secrets in time that does not depend on where they differ.
    public static func sameSecret(_ given: String, _ expected: String) -> Bool {
        let given = Array(given.utf8)
        let expected = Array(expected.utf8)
        guard given.count == expected.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<given.count { difference |= given[index] ^ expected[index] }
        return difference == 0
    }
}

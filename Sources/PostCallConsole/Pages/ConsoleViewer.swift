/// Who is looking at a page, and the token their forms must carry.
public struct ConsoleViewer: Sendable {
    public var name: String
    public var role: ConsoleRole
    /// `nil` when signed in with HTTP Basic, which may only read.
    public var csrfToken: String?

    public var mayRetry: Bool { role.mayRetry && csrfToken != nil }
}

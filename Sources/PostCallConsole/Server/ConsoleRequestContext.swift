import Hummingbird

/// A request's context: Hummingbird's own, plus who is signed in.
public struct ConsoleRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by ``ConsoleAccess`` on every route behind it.
    public var viewer: ConsoleViewer?
    /// The session cookie's token, when signed in with one.
    public var sessionToken: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// Form posts are small; nothing larger is read.
    public var maxUploadSize: Int { 64 * 1024 }

    /// The signed-in user; routes behind ``ConsoleAccess`` always have one.
    func requireViewer() throws -> ConsoleViewer {
        guard let viewer else { throw HTTPError(.unauthorized) }
        return viewer
    }
}

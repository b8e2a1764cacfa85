/// Where an outbox lives: a SQLite file on this host (the default), or a PostgreSQL database a
/// fleet of hosts shares.
public enum OutboxLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(uri: String)

    /// `postgresql://…` or `postgres://…` selects PostgreSQL; anything else is a SQLite path.
    public init(_ text: String) {
        let lowered = text.lowercased()
        self = lowered.hasPrefix("postgresql://") || lowered.hasPrefix("postgres://") ? .postgres(uri: text) : .sqlite(path: text)
    }

    /// The path, or the URI without its password: safe for logs and messages.
    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let uri): SecretMasking.maskURL(uri)
        }
    }

    /// The SQLite file, which uploads must never read and whose changes wake workers.
    public var databasePath: String? {
        if case .sqlite(let path) = self { return path }
        return nil
    }

    /// The path of `name` in the SQLite file's folder (the recordings, the console's users);
    /// `nil` for PostgreSQL, which has no folder of its own on this host.
    public func besideDatabase(_ name: String) -> String? {
        guard let path = databasePath else { return nil }
        guard let slash = path.lastIndex(of: "/") else { return "./" + name }
        return path[...slash] + name
    }
}

import Glibc
import PostCallCPostgres

/// Makes a descriptor readable when an event is inserted into a PostgreSQL outbox: its own
/// connection, listening on the channel the outbox's insert trigger notifies. The worker polls
/// it with its transfers, so an event the IVR inserts on any host is claimed within a
/// millisecond of its commit without polling the database.
///
/// A dropped connection makes no descriptor until it is back (the worker's slow poll covers the
/// gap, and a down server costs no busy loop). It is reopened only once the worker's own
/// statements succeed again, so a server that cannot be reached never blocks the loop twice:
/// connecting blocks until the server answers or refuses.
final class PostgresChangeListener: OutboxChangeNotifier {
    static let channel = "postcall_outbox"
    private let connection: PostgresConnection
    private var reconnectDelay: Milliseconds = 100
    private var nextReconnectAt: Milliseconds = 0

    init(uri: String) throws {
        connection = try PostgresConnection(uri: uri)
        try connection.execute("LISTEN \(Self.channel)")
        connection.reconnected = { [unowned connection] in try connection.execute("LISTEN \(Self.channel)") }
    }

    var descriptor: Int32? { connection.isConnected ? connection.socket : nil }

    /// Reads what the server sent and discards the notifications: that one arrived is all the
    /// worker needs to know. A connection found closed stops making a descriptor.
    func drain() { connection.consumeNotifications() }

    /// Reopens the connection if it dropped, with a growing delay between tries in case the
    /// server accepts the worker's statements but not this connection (too many clients).
    func databaseAnswered() {
        let now = Timestamp.now()
        guard !connection.isConnected, now >= nextReconnectAt else { return }
        do {
            // Any statement reconnects a dropped connection, and `reconnected` listens again.
            try connection.execute("SELECT 1")
            reconnectDelay = 100
        } catch {
            nextReconnectAt = now + reconnectDelay
            reconnectDelay = min(reconnectDelay * 2, 5_000)
        }
    }
}

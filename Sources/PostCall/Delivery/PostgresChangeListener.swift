import Glibc
import PostCallCPostgres

/// Makes a descriptor readable when an event is inserted into a PostgreSQL outbox: its own
/// connection, listening on the channel the outbox's insert trigger notifies. The worker polls
/// it with its transfers, so an event the IVR inserts on any host is claimed within a
/// millisecond of its commit without polling the database.
///
/// A dropped connection makes no descriptor until it is back: reconnections are tried with a
/// growing delay (the worker's slow poll covers the gap), so a server that is down costs no
/// busy loop. Each try blocks the worker's loop until the server answers or refuses, at most
/// ``PostgresConnection/connectTimeoutSeconds``.
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

    var descriptor: Int32? {
        if !connection.isConnected { reconnectWhenDue() }
        return connection.isConnected ? connection.socket : nil
    }

    /// Reads what the server sent and discards the notifications: that one arrived is all the
    /// worker needs to know.
    func drain() {
        if !connection.consumeNotifications() { reconnectWhenDue() }
    }

    private func reconnectWhenDue() {
        let now = Timestamp.now()
        guard now >= nextReconnectAt else { return }
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

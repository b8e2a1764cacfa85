/// A descriptor the worker polls with its transfers, readable when the outbox may have new
/// events: so an event the IVR inserts is claimed within a millisecond without polling the
/// database. Without one (`nil`), the worker falls back to a slow poll.
protocol OutboxChangeNotifier: AnyObject {
    /// The descriptor to poll now; `nil` while there is none (a connection being re-established).
    var descriptor: Int32? { get }
    /// Empties the descriptor after it became readable.
    func drain()
    /// The database just answered the worker: the moment to re-establish a connection that
    /// dropped, now that the server is known to be there.
    func databaseAnswered()
}

extension OutboxChangeNotifier {
    func databaseAnswered() {}
}

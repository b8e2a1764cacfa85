/// Where an event is in its delivery; stored in `outbox.state`.
public enum EventState: String, Sendable, Codable, CaseIterable {
    /// Waiting for its first attempt or its next retry.
    case pending
    /// Leased to a worker that is delivering it now.
    case inFlight = "in_flight"
    /// The receiver accepted it.
    case delivered
    /// Given up; `postcall retry` sends it again.
    case dead
}

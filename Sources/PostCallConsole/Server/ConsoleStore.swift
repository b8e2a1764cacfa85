import NIOPosix
import PostCall
import Synchronization

/// The outbox as the console uses it: one connection, one statement at a time, run on NIO's
/// blocking thread pool so a slow query never holds up the threads that serve requests.
final class ConsoleStore: Sendable {
    private let store: Mutex<OutboxStore>

    init(location: OutboxLocation) throws {
        store = Mutex(try OutboxStore(location: location))
    }

    /// Runs `body` with the store, off the request threads.
    func run<Result: Sendable>(_ body: @escaping @Sendable (OutboxStore) throws -> Result) async throws -> Result {
        try await NIOThreadPool.singleton.runIfActive {
            try self.store.withLock { store in try body(store) }
        }
    }
}

import Glibc

/// A POSIX thread for the worker's helpers (the metrics endpoint, the checkpointer), which must
/// not depend on Dispatch's or Swift concurrency's pools: they run beside a loop that blocks.
enum POSIXThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Runs `body` on a new thread; `nil` if the system refused one.
    static func start(_ body: @escaping () -> Void) -> pthread_t? {
        let context = Unmanaged.passRetained(Body(body))
        var created = pthread_t()
        guard pthread_create(&created, nil, { context in
            guard let context else { return nil }
            Unmanaged<Body>.fromOpaque(context).takeRetainedValue().run()
            return nil
        }, context.toOpaque()) == 0 else {
            context.release()
            return nil
        }
        return created
    }
}

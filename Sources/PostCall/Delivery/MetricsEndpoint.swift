import Glibc

/// A minimal HTTP endpoint for Prometheus scrapes, served on a thread of its own with its own
/// database connection: no client of the metrics port (a slow one, or one that drips a byte at a
/// time) can hold up the delivery loop.
final class MetricsEndpoint: @unchecked Sendable {
    /// The port actually bound (useful when asked for port 0).
    let port: Int
    private let descriptor: Int32
    private let outbox: OutboxLocation
    /// Written to by ``stop()`` to wake the serving thread.
    private let stopPipe: (read: Int32, write: Int32)
    private var thread: pthread_t?

    /// A scrape's request must arrive whole within this time, or the client is dropped.
    static let requestDeadlineNanoseconds: UInt64 = 1_000_000_000

    /// Listens on `host` (an IPv4 address, 127.0.0.1 by default) and `port`; scrapes read the
    /// queue gauges from the outbox at `outbox`.
    init(host: String, port: Int, outbox: OutboxLocation) throws {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socketDescriptor >= 0 else { throw Self.failure("socket", host: host, port: port) }
        var reuse: Int32 = 1
        setsockopt(socketDescriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(socketDescriptor)
            throw PostCallError(.invalidInput, "--metrics-host \(host) is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(socketDescriptor, 16) == 0 else {
            let error = Self.failure("bind", host: host, port: port)
            close(socketDescriptor)
            throw error
        }
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            let error = Self.failure("pipe", host: host, port: port)
            close(socketDescriptor)
            throw error
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketDescriptor, $0, &length) }
        }
        self.descriptor = socketDescriptor
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        self.outbox = outbox
        self.stopPipe = (pipeEnds[0], pipeEnds[1])
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    }

    deinit {
        stop()
        close(descriptor)
        close(stopPipe.read)
        close(stopPipe.write)
    }

    /// Serves scrapes of `metrics` on a new thread until ``stop()``.
    func start(_ metrics: WorkerMetrics) {
        guard thread == nil else { return }
        thread = POSIXThread.start { [self] in serve(metrics) }
    }

    /// Stops the serving thread and waits for it.
    func stop() {
        guard let running = thread else { return }
        var byte: UInt8 = 1
        _ = write(stopPipe.write, &byte, 1)
        pthread_join(running, nil)
        thread = nil
    }

    private func serve(_ metrics: WorkerMetrics) {
        // Opened on this thread and used only here: a connection serves one thread at a time.
        var store: OutboxStore?
        while true {
            var waits = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0), pollfd(fd: stopPipe.read, events: Int16(POLLIN), revents: 0)]
            guard poll(&waits, 2, -1) >= 0 || errno == EINTR else { return }
            if waits[1].revents != 0 { return }
            guard waits[0].revents != 0 else { continue }
            let client = accept(descriptor, nil, nil)
            guard client >= 0 else { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            defer { close(client) }
            guard let line = Self.requestLine(from: client) else { continue }
            let isMetrics = line.hasPrefix("GET /metrics ") || line.hasPrefix("GET /metrics?") || line.hasPrefix("GET / ")
            let payload: [UInt8]
            if isMetrics {
                if store == nil {
                    store = try? OutboxStore(location: outbox)
                    // Its queries count index entries: a small page cache is enough, and the
                    // worker's memory is what its transfers need.
                    try? store?.prepareForMetrics()
                }
                payload = metrics.exposition(store: store)
            } else {
                payload = Array("not found; metrics are at /metrics\n".utf8)
            }
            let head = "HTTP/1.1 \(isMetrics ? "200 OK" : "404 Not Found")\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: \(payload.count)\r\nConnection: close\r\n\r\n"
            let response = Array(head.utf8) + payload
            var sent = 0
            while sent < response.count {
                let count = response[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard count > 0 else { break }
                sent += count
            }
        }
    }

    /// The request's first line, or `nil` if the client does not send its head (at most 8 KiB)
    /// within ``requestDeadlineNanoseconds``.
    private static func requestLine(from client: Int32) -> String? {
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let deadline = Timestamp.monotonicNanoseconds() + requestDeadlineNanoseconds
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while request.count < 8192, !request.ends(with: [13, 10, 13, 10]) {
            guard Timestamp.monotonicNanoseconds() < deadline else { return nil }
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            request += buffer[0..<count]
        }
        return String(decoding: request.prefix { $0 != 13 }, as: UTF8.self)
    }

    private static func failure(_ call: String, host: String, port: Int) -> PostCallError {
        PostCallError(
            .invalidInput, "cannot serve metrics on \(host):\(port) (\(call): \(String(cString: strerror(errno)))); pick another --metrics-port")
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}

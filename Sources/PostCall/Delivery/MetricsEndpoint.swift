#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP endpoint for Prometheus scrapes, served from the worker's own loop: its
/// listening socket is polled with the transfers, and each scrape is answered at once.
final class MetricsEndpoint {
    let descriptor: Int32
    /// The port actually bound (useful when asked for port 0).
    let port: Int

    /// Listens on `host` (an IPv4 address, 127.0.0.1 by default) and `port`.
    init(host: String, port: Int) throws {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
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
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketDescriptor, $0, &length) }
        }
        self.descriptor = socketDescriptor
        self.port = Int(UInt16(bigEndian: actual.sin_port))
    }

    deinit { close(descriptor) }

    /// Answers every waiting scrape with `body()` (for `GET /metrics`) or a 404.
    func serve(_ body: () -> [UInt8]) {
        while true {
            // The listening socket is non-blocking, so this returns at once when no scrape waits;
            // accepted sockets are blocking, bounded by the timeouts below.
            let client = accept(descriptor, nil, nil)
            guard client >= 0 else { return }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            defer { close(client) }
            // A scrape is one small request; a client that does not send it promptly is dropped.
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var request: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 2048)
            while request.count < 8192, !request.ends(with: [13, 10, 13, 10]) {
                let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { break }
                request += buffer[0..<count]
            }
            let line = String(decoding: request.prefix { $0 != 13 }, as: UTF8.self)
            let isMetrics = line.hasPrefix("GET /metrics ") || line.hasPrefix("GET /metrics?") || line.hasPrefix("GET / ")
            let payload = isMetrics ? body() : Array("not found; metrics are at /metrics\n".utf8)
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

    private static func failure(_ call: String, host: String, port: Int) -> PostCallError {
        PostCallError(
            .invalidInput, "cannot serve metrics on \(host):\(port) (\(call): \(String(cString: strerror(errno)))); pick another --metrics-port")
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}

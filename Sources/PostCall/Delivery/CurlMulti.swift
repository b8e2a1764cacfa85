import PostCallCCurl

/// One libcurl multi handle: drives many transfers from a single thread.
final class CurlMulti {
    private let handle: UnsafeMutableRawPointer

    private static let globalInitialisation: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

    init(maximumConnections: Int) throws {
        guard Self.globalInitialisation == CURLE_OK else {
            throw PostCallError(.transport, "libcurl failed to initialise (code \(Self.globalInitialisation.rawValue))")
        }
        guard let handle = curl_multi_init() else {
            throw PostCallError(.transport, "libcurl could not create a multi handle (out of memory?)")
        }
        self.handle = handle
        _ = postcall_multi_setopt_long(handle, CURLMOPT_MAX_TOTAL_CONNECTIONS, maximumConnections)
        _ = postcall_multi_setopt_long(handle, CURLMOPT_MAXCONNECTS, maximumConnections)
    }

    deinit { curl_multi_cleanup(handle) }

    func add(_ transfer: HTTPTransfer) throws {
        let code = curl_multi_add_handle(handle, transfer.easy)
        guard code == CURLM_OK else {
            throw PostCallError(.transport, "libcurl refused a transfer: \(String(cString: curl_multi_strerror(code)))")
        }
    }

    func remove(_ transfer: HTTPTransfer) {
        curl_multi_remove_handle(handle, transfer.easy)
    }

    /// Moves every transfer forward as far as it can go without blocking.
    func perform() {
        var running: Int32 = 0
        curl_multi_perform(handle, &running)
    }

    /// The transfers that finished since the last call, with libcurl's result for each.
    func finishedTransfers() -> [(easy: UnsafeMutableRawPointer, result: CURLcode)] {
        var finished: [(UnsafeMutableRawPointer, CURLcode)] = []
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(handle, &remaining) {
            guard postcall_multi_message_is_done(message) != 0, let easy = postcall_multi_message_easy(message) else {
                continue
            }
            finished.append((easy, postcall_multi_message_result(message)))
        }
        return finished
    }

    /// Waits until a transfer has work, one of `descriptors` is readable, ``wakeUp()`` is called
    /// or `timeoutMilliseconds` pass. Returns the descriptors that became readable.
    func poll(timeoutMilliseconds: Int, descriptors: [Int32]) -> Set<Int32> {
        var waits = descriptors.map { curl_waitfd(fd: $0, events: Int16(CURL_WAIT_POLLIN), revents: 0) }
        let timeout = Int32(clamping: max(0, timeoutMilliseconds))
        waits.withUnsafeMutableBufferPointer {
            _ = curl_multi_poll(handle, $0.baseAddress, UInt32($0.count), timeout, nil)
        }
        return Set(waits.filter { $0.revents & Int16(CURL_WAIT_POLLIN) != 0 }.map(\.fd))
    }

    /// Interrupts ``poll(timeoutMilliseconds:wakeDescriptor:)`` from any thread.
    func wakeUp() {
        curl_multi_wakeup(handle)
    }
}

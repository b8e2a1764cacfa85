import Glibc

/// Makes a file descriptor readable whenever any connection commits to a SQLite database, by
/// watching its write-ahead log with inotify.
final class WriteAheadLogWatcher: OutboxChangeNotifier {
    private let inotify: Int32
    var descriptor: Int32? { inotify }
    private let walPath: String
    private var watch: Int32 = -1

    /// Returns `nil` where inotify is unavailable; the worker then falls back to a slow poll.
    init?(databasePath: String) {
        inotify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard inotify >= 0 else { return nil }
        walPath = databasePath + "-wal"
        // Every stored property is set by now, so returning nil runs deinit, which closes the
        // descriptor: closing it here as well would close whatever reused the number meanwhile.
        guard rearm() else { return nil }
    }

    deinit { close(inotify) }

    /// Empties the descriptor after it became readable. Re-arms the watch if the log file was
    /// replaced (it is deleted when the last connection to the database closes).
    func drain() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var watchRemoved = false
        while true {
            let count = buffer.withUnsafeMutableBytes { read(inotify, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= count {
                let event = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: inotify_event.self) }
                if event.mask & UInt32(IN_IGNORED) != 0 { watchRemoved = true }
                offset += MemoryLayout<inotify_event>.size + Int(event.len)
            }
        }
        if watchRemoved { _ = rearm() }
    }

    @discardableResult
    private func rearm() -> Bool {
        watch = inotify_add_watch(inotify, walPath, UInt32(IN_MODIFY) | UInt32(IN_DELETE_SELF))
        return watch >= 0
    }
}

import Glibc

/// A file opened for one attempt's upload, after ``FileAccess``'s checks. libcurl reads it
/// through ``read(into:)`` a buffer at a time, so a 200 MiB recording never sits in memory.
final class UploadFile {
    let descriptor: Int32
    /// The real path, links resolved.
    let path: String
    let size: Int64
    /// Where the next read starts: libcurl may rewind to resend the body on a new connection.
    var offset: Int64 = 0

    init(descriptor: Int32, path: String, size: Int64) {
        self.descriptor = descriptor
        self.path = path
        self.size = size
    }

    deinit { close(descriptor) }

    /// The base name, sent as the file part's filename.
    var name: String { FileAccess.baseName(path) }

    var contentType: String { FileContentType.forPath(path) }

    /// Reads the next bytes into `buffer`; 0 at the end, `nil` on an error.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        // Never past the size the part announced, even if the file grew since it was opened.
        let wanted = min(buffer.count, Int(max(0, size - offset)))
        guard wanted > 0, let base = buffer.baseAddress else { return 0 }
        while true {
            let count = pread(descriptor, base, wanted, off_t(offset))
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            offset += Int64(count)
            return count
        }
    }
}

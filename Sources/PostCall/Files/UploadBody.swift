import Glibc

/// A request body read from disk as it is sent: one file as the raw body, or a
/// `multipart/form-data` body of text parts and file parts. Its bytes are fixed before the first
/// is sent (the boundary included), so they can be signed, then sent, and sent again after a
/// rewind, and never sit in memory whole.
final class UploadBody {
    private enum Segment {
        case bytes([UInt8])
        case file(UploadFile)

        var size: Int64 {
            switch self {
            case .bytes(let bytes): Int64(bytes.count)
            case .file(let file): file.size
            }
        }
    }

    private let segments: [Segment]
    /// The whole body's length, sent as its Content-Length.
    let size: Int64
    /// The Content-Type a multipart body needs, with its boundary; `nil` for a raw file.
    let contentType: String?
    private var segmentIndex = 0
    private var segmentOffset: Int64 = 0

    private init(segments: [Segment], contentType: String?) {
        self.segments = segments
        self.contentType = contentType
        size = segments.reduce(0) { $0 + $1.size }
    }

    /// `file` as the raw body.
    convenience init(rawFile file: UploadFile) {
        self.init(segments: [.file(file)], contentType: nil)
    }

    /// A multipart body: the text `fields`, then the `files` under their field names, as
    /// RFC 7578 and the HTML standard write them (`"`, CR and LF in names percent-encoded).
    convenience init(fields: [Webservice.Field], files: [(field: String, file: UploadFile)], boundary: String = UploadBody.newBoundary()) {
        var segments: [Segment] = []
        for field in fields {
            segments.append(.bytes(Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(Self.quoted(field.name))\"\r\n\r\n".utf8)
                + Array(field.value.utf8) + Array("\r\n".utf8)))
        }
        for (field, file) in files {
            segments.append(.bytes(Array("""
                --\(boundary)\r\nContent-Disposition: form-data; name="\(Self.quoted(field))"; filename="\(Self.quoted(file.name))"\r\n\
                Content-Type: \(file.contentType)\r\n\r\n
                """.utf8)))
            segments.append(.file(file))
            segments.append(.bytes(Array("\r\n".utf8)))
        }
        segments.append(.bytes(Array("--\(boundary)--\r\n".utf8)))
        self.init(segments: segments, contentType: "multipart/form-data; boundary=\(boundary)")
    }

    /// 256 random bits in hex after a prefix: no file will contain it by chance.
    static func newBoundary() -> String {
        var generator = SystemRandomNumberGenerator()
        return "postcall-" + (0..<4).map { _ in String(generator.next() as UInt64, radix: 16) }.joined()
    }

    private static func quoted(_ name: String) -> String {
        var result = ""
        for character in name.unicodeScalars {
            switch character {
            case "\"": result += "%22"
            case "\r": result += "%0D"
            case "\n": result += "%0A"
            default: result.unicodeScalars.append(character)
            }
        }
        return result
    }

    /// Starts again from the first byte.
    func rewind() {
        segmentIndex = 0
        segmentOffset = 0
    }

    /// Reads the next bytes into `buffer`; 0 at the end, `nil` when a file cannot be read.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        var written = 0
        while written < buffer.count, segmentIndex < segments.count {
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[written...])
            let count: Int
            switch segments[segmentIndex] {
            case .bytes(let bytes):
                count = min(target.count, bytes.count - Int(segmentOffset))
                bytes.withUnsafeBytes { source in
                    target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[Int(segmentOffset)..<Int(segmentOffset) + count]))
                }
            case .file(let file):
                file.offset = segmentOffset
                guard let read = file.read(into: target) else { return nil }
                // A file that shrank since it was opened cannot fill the length announced.
                guard read > 0 || segmentOffset >= file.size else { return nil }
                count = read
            }
            written += count
            segmentOffset += Int64(count)
            if segmentOffset >= segments[segmentIndex].size {
                segmentIndex += 1
                segmentOffset = 0
            }
        }
        return written
    }

    /// Hands every byte to `consume`, a piece at a time, then rewinds: for a signature.
    func feed(_ consume: (UnsafeRawBufferPointer) -> Void) throws {
        rewind()
        defer { rewind() }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(into: $0) }
            guard let count else { throw PostCallError(.transport, "a file of the upload could not be read to sign it") }
            guard count > 0 else { return }
            buffer.withUnsafeBytes { consume(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
        }
    }
}

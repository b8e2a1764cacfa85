import PostCallCCurl

/// A transfer's URL, held by libcurl's URL API (`CURLOPT_CURLU`) and reused from event to event.
///
/// Handed a URL as text, libcurl parses it at every transfer and prints it back whole, a
/// character at a time. Events of one webservice share a scheme, host and port: when a URL
/// starts with the origin parsed last, only its path and query are replaced, and only when they
/// are plain enough that libcurl's parser keeps them as they are (no dot segments, fragment,
/// percent-encoding, spaces or control characters). The loop's 121,600 instructions an event
/// went to 110,700 (callgrind).
final class TransferURL {
    /// The `CURLU` handle the transfer points `CURLOPT_CURLU` at.
    let handle: OpaquePointer
    /// The scheme and authority (`http://host:port`) of the URL last parsed whole, when its
    /// bytes alone say where the authority ends; empty otherwise.
    private var origin: [UInt8] = []
    /// How many URLs were set by their path and query alone.
    private(set) var partialUpdates = 0

    /// The flags libcurl itself parses a `CURLOPT_URL` with.
    private static let parseFlags = UInt32(CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME)

    init() throws {
        guard let handle = curl_url() else {
            throw PostCallError(.transport, "libcurl could not create a URL handle (out of memory?)")
        }
        self.handle = handle
    }

    deinit {
        curl_url_cleanup(handle)
    }

    /// Points the handle at `url`. False when libcurl's parser refuses it: the transfer then
    /// takes it as `CURLOPT_URL`, so that libcurl reports the error as it always has.
    func set(_ url: String) -> Bool {
        var url = url
        if url.withUTF8({ bytes in pathStart(in: bytes).map { setPathAndQuery(bytes[$0...]) } ?? false }) {
            partialUpdates += 1
            return true
        }
        origin = []
        guard curl_url_set(handle, CURLUPART_URL, url, Self.parseFlags) == CURLUE_OK else { return false }
        origin = url.withUTF8(Self.origin(of:))
        return true
    }

    /// The whole URL as libcurl prints it from the handle.
    var text: String? {
        var printed: UnsafeMutablePointer<CChar>?
        guard curl_url_get(handle, CURLUPART_URL, &printed, 0) == CURLUE_OK, let printed else { return nil }
        defer { curl_free(printed) }
        return String(cString: printed)
    }

    /// Where the path starts when `bytes` is the last origin followed by a plain path (and
    /// query); nil when the URL must be parsed whole.
    private func pathStart(in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !origin.isEmpty, bytes.count > origin.count, bytes[origin.count] == UInt8(ascii: "/"),
              origin.withUnsafeBufferPointer({ bytes.prefix(origin.count).elementsEqual($0) })
        else { return nil }
        var previous: UInt8 = 0
        for byte in bytes[origin.count...] {
            // Printable ASCII without a fragment or a backslash; `/.` may start a dot segment,
            // which libcurl's parser removes; a part set alone has its percent-encodings written
            // in lower case, the parser keeps them as they are.
            guard byte > 0x20, byte < 0x7F, byte != UInt8(ascii: "#"), byte != UInt8(ascii: "\\"), byte != UInt8(ascii: "%"),
                  !(previous == UInt8(ascii: "/") && byte == UInt8(ascii: "."))
            else { return nil }
            previous = byte
        }
        return origin.count
    }

    /// Replaces the handle's path and query with `rest`'s (a path, then `?` and a query).
    private func setPathAndQuery(_ rest: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        let mark = rest.firstIndex(of: UInt8(ascii: "?"))
        // "?" with nothing after it is kept by the parser as an empty query; left to it.
        if let mark, mark == rest.endIndex - 1 { return false }
        let pathEnd = mark ?? rest.endIndex
        guard Self.setPart(CURLUPART_PATH, rest[rest.startIndex..<pathEnd], of: handle) else { return false }
        guard let mark else { return curl_url_set(handle, CURLUPART_QUERY, nil, 0) == CURLUE_OK }
        return Self.setPart(CURLUPART_QUERY, rest[(mark + 1)...], of: handle)
    }

    private static func setPart(_ part: CURLUPart, _ value: Slice<UnsafeBufferPointer<UInt8>>, of handle: OpaquePointer) -> Bool {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: value.count + 1) { copy in
            UnsafeMutableRawBufferPointer(copy).copyMemory(from: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: value)))
            copy[value.count] = 0
            return curl_url_set(handle, part, copy.baseAddress, 0) == CURLUE_OK
        }
    }

    /// `scheme://authority` of a URL libcurl parsed, when the bytes alone say where the
    /// authority ends: a scheme of letters, digits, `+`, `-` and `.`, an authority without `?`,
    /// `#`, `\` or spaces, then a `/`; and no fragment anywhere, which a path and query set
    /// later would leave in place. Empty otherwise.
    private static func origin(of bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        guard !bytes.contains(UInt8(ascii: "#")) else { return [] }
        var index = 0
        while index < bytes.count, isSchemeByte(bytes[index]) { index += 1 }
        let separator = "://".utf8
        guard index > 0, bytes[index...].starts(with: separator) else { return [] }
        index += separator.count
        let authorityStart = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "/") {
            let byte = bytes[index]
            guard byte > 0x20, byte < 0x7F, byte != UInt8(ascii: "?"), byte != UInt8(ascii: "\\") else { return [] }
            index += 1
        }
        return index < bytes.count && index > authorityStart ? Array(bytes[..<index]) : []
    }

    private static func isSchemeByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."):
            true
        default:
            false
        }
    }
}

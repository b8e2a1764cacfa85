import FoundationEssentials

/// What the history keeps of a request or a response: enough to see what went over the wire,
/// bounded in size, with secrets masked.
public struct ExchangeSummary: Codable, Sendable, Equatable {
    public var method: String?
    public var url: String?
    public var status: Int?
    public var headers: [[String]]
    /// The first 4 KiB of the body, as text (invalid UTF-8 replaced).
    public var body: String
    /// The whole body's size in bytes (for a multipart body, its text parts and files).
    public var bodyBytes: Int
    /// The files a request uploaded: never their bytes.
    public var files: [FileSummary]?

    /// One uploaded file, as the history keeps it.
    public struct FileSummary: Codable, Sendable, Equatable {
        /// The multipart field; `nil` for a file sent as the whole body.
        public var field: String?
        /// The base name.
        public var name: String
        public var size: Int64
        public var contentType: String

        enum CodingKeys: String, CodingKey {
            case field, name, size
            case contentType = "content_type"
        }
    }

    enum CodingKeys: String, CodingKey {
        case method, url, status, headers, body, files
        case bodyBytes = "body_bytes"
    }

    /// The JSON kept in `attempts.request` for `request`, whose uploads are `files`.
    static func requestJSON(_ request: HTTPRequest, files: [UploadFile] = []) -> String {
        let body: [UInt8]
        let bodyBytes: Int
        var summaries: [FileSummary]?
        switch request.upload {
        case nil:
            body = request.body ?? []
            bodyBytes = body.count
        case .multipart(let fields, let parts):
            // The text parts one per line, as `name: value`; the files by name and size only.
            body = Array(fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n").utf8)
            bodyBytes = body.count + Int(files.reduce(0) { $0 + $1.size })
            summaries = zip(parts, files).map { part, file in
                FileSummary(field: part.name, name: file.name, size: file.size, contentType: file.contentType)
            }
        case .rawBody:
            body = []
            bodyBytes = Int(files.first?.size ?? 0)
            summaries = files.map { FileSummary(field: nil, name: $0.name, size: $0.size, contentType: $0.contentType) }
        }
        let headerBytes = request.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + Self.headerPunctuation }
        return json(
            method: request.method, url: SecretMasking.maskURL(request.url), status: nil, headerBytes: headerBytes,
            body: body.prefix(HTTPTransfer.keptBodyBytes), bodyBytes: bodyBytes, files: summaries
        ) { writer in
            for (index, header) in request.headers.enumerated() {
                var name = header.name
                var value = header.value
                name.withUTF8 { name in value.withUTF8 { value in writeHeader(name: name, value: value, first: index == 0, to: &writer) } }
            }
        }
    }

    /// The JSON kept in `attempts.response`.
    static func responseJSON(status: Int?, headers: ResponseHeaders, bodyPrefix: ArraySlice<UInt8>, bodyBytes: Int) -> String {
        json(
            method: nil, url: nil, status: status, headerBytes: headers.bytes.count + headers.count * Self.headerPunctuation,
            body: bodyPrefix, bodyBytes: bodyBytes
        ) { writer in
            var first = true
            headers.forEachLine { name, value in
                writeHeader(name: name, value: value, first: first, to: &writer)
                first = false
            }
        }
    }

    /// The bytes around a header's name and value in the headers' array: `,["`, `","` and `"]`.
    private static let headerPunctuation = 8

    /// One `["name","value"]` pair of the headers' array, the value masked if it is a secret.
    private static func writeHeader(
        name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>, first: Bool, to writer: inout JSONWriter
    ) {
        writer.raw(first ? "[" : ",[")
        writer.string(utf8: name)
        writer.raw(",")
        switch SecretMasking.mask(headerName: name, value: value) {
        case .none: writer.string(utf8: value)
        case .keepingScheme(let length):
            writer.raw("\"")
            writer.escaped(utf8: UnsafeBufferPointer(rebasing: value[..<length]))
            writer.raw(" ****\"")
        case .whole: writer.raw("\"****\"")
        }
        writer.raw("]")
    }

    /// Written by hand, keys in the order JSONEncoder would sort them: this runs for every
    /// attempt, and JSONEncoder cost more than the HTTP exchange itself. `headers` writes the
    /// pairs of the headers' array, about `headerBytes` long.
    private static func json(
        method: String?, url: String?, status: Int?, headerBytes: Int, body: ArraySlice<UInt8>, bodyBytes: Int,
        files: [FileSummary]? = nil, headers: (inout JSONWriter) -> Void
    ) -> String {
        var writer = JSONWriter(capacity: 128 + body.count + (url?.utf8.count ?? 0) + headerBytes)
        writer.raw("{\"body\":")
        // Bytes that are not UTF-8 (a body cut inside a character) are replaced when the text is made.
        body.withUnsafeBufferPointer { writer.string(utf8: $0) }
        writer.raw(",\"body_bytes\":")
        writer.number(bodyBytes)
        if let files {
            writer.raw(",\"files\":[")
            for (index, file) in files.enumerated() {
                writer.raw(index == 0 ? "{\"content_type\":" : ",{\"content_type\":")
                writer.string(file.contentType)
                writer.raw(",\"field\":")
                if let field = file.field { writer.string(field) } else { writer.raw("null") }
                writer.raw(",\"name\":")
                writer.string(file.name)
                writer.raw(",\"size\":")
                writer.number(Int(file.size))
                writer.raw("}")
            }
            writer.raw("]")
        }
        writer.raw(",\"headers\":[")
        headers(&writer)
        writer.raw("]")
        if let method {
            writer.raw(",\"method\":")
            writer.string(method)
        }
        if let status {
            writer.raw(",\"status\":")
            writer.number(status)
        }
        if let url {
            writer.raw(",\"url\":")
            writer.string(url)
        }
        writer.raw("}")
        return writer.text
    }
}

/// Masks credentials before anything is stored or logged.
public enum SecretMasking {
    /// Header names whose values are credentials, compared in lower case.
    public static let secretHeaders: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "apikey",
        "x-auth-token", "x-access-token", "x-csrf-token", "x-amz-security-token",
    ]

    /// Header names containing one of these words are treated as secrets too.
    static let secretWords = ["secret", "token", "password", "passwd"]

    private static let secretHeaderBytes = secretHeaders.map { Array($0.utf8) }
    private static let secretWordBytes = secretWords.map { Array($0.utf8) }

    /// How much of a header's value the history shows.
    enum HeaderMask: Equatable {
        case none
        /// The first `length` bytes, the scheme of an `Authorization` (`Bearer`), then ` ****`.
        case keepingScheme(length: Int)
        /// `****` instead of the value.
        case whole
    }

    /// The value to show for a header: secrets keep only their scheme (`Bearer ****`).
    public static func maskHeader(name: String, value: String) -> String {
        var name = name
        var value = value
        let mask = name.withUTF8 { name in value.withUTF8 { value in self.mask(headerName: name, value: value) } }
        switch mask {
        case .none: return value
        case .keepingScheme(let length): return String(decoding: value.utf8.prefix(length), as: UTF8.self) + " ****"
        case .whole: return "****"
        }
    }

    /// How the header `name` with `value` is masked (see ``maskHeader(name:value:)``).
    static func mask(headerName name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) -> HeaderMask {
        guard isSecret(headerName: name) else { return .none }
        let suffix = authorizationBytes
        if name.count >= suffix.count, matches(suffix, in: name, at: name.count - suffix.count),
            let space = value.firstIndex(of: UInt8(ascii: " "))
        {
            return .keepingScheme(length: space)
        }
        return .whole
    }

    private static let authorizationBytes = Array("authorization".utf8)

    static func isSecret(headerName name: String) -> Bool {
        var name = name
        return name.withUTF8 { isSecret(headerName: $0) }
    }

    /// Runs for every header of every attempt (five or so per event), so it compares the name's
    /// bytes in place, lower-casing as it goes, instead of building a lower-cased copy, and looks
    /// for the words in one pass, only where one of their first letters stands.
    static func isSecret(headerName bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if bytes.count < secretHeaderLengths.count && secretHeaderLengths[bytes.count] {
            for candidate in secretHeaderBytes where candidate.count == bytes.count {
                if matches(candidate, in: bytes, at: 0) { return true }
            }
        }
        for start in bytes.indices where startsSecretWord[Int(bytes[start] | 0x20)] {
            for word in secretWordBytes where word[0] == bytes[start] | 0x20 && start + word.count <= bytes.count {
                if matches(word, in: bytes, at: start) { return true }
            }
        }
        return false
    }

    /// Which name lengths ``secretHeaders`` has.
    private static let secretHeaderLengths: [Bool] = {
        var lengths = [Bool](repeating: false, count: (secretHeaderBytes.map(\.count).max() ?? 0) + 1)
        for name in secretHeaderBytes { lengths[name.count] = true }
        return lengths
    }()

    /// Which bytes (lower-cased) start one of ``secretWords``.
    private static let startsSecretWord: [Bool] = (0...255).map { byte in secretWordBytes.contains { $0.first == UInt8(byte) } }

    /// Whether `lowercase` stands in `bytes` from `start`, ignoring ASCII case in `bytes`.
    private static func matches(_ lowercase: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Bool {
        for (offset, expected) in lowercase.enumerated() {
            let byte = bytes[start + offset]
            if byte.asciiLowercased != expected { return false }
        }
        return true
    }

    /// Query parameter names that carry credentials besides those ``isSecret(headerName:)`` knows.
    static let secretParameters: Set<String> = [
        "key", "sig", "signature", "api_key", "auth", "pwd", "access_key", "client_secret", "private_key",
    ]

    /// Whether a query or form parameter called `name` carries a credential (`api_key`, `token`,
    /// `signature`, `sig`, `key`, ...).
    public static func isSecret(parameterName name: String) -> Bool {
        secretParameters.contains(name.lowercased()) || isSecret(headerName: name)
    }

    /// The value to show for a parameter.
    public static func maskParameter(name: String, value: String) -> String {
        isSecret(parameterName: name) ? "****" : value
    }

    /// The URL with any `user:password@` password and the values of secret query parameters
    /// (``isSecret(parameterName:)``) replaced.
    public static func maskURL(_ url: String) -> String {
        // Most URLs have neither: answer that from the bytes in place (a generic search of the
        // UTF-8 view cost 1,100 instructions a URL), without building substrings.
        var text = url
        let plain = text.withUTF8 { !$0.contains(UInt8(ascii: "@")) && !$0.contains(UInt8(ascii: "?")) }
        guard !plain else { return url }
        var masked = Substring(url)
        if let schemeEnd = url.firstRange(of: "://") {
            let authorityEnd = url[schemeEnd.upperBound...].firstIndex { "/?#".contains($0) } ?? url.endIndex
            let authority = url[schemeEnd.upperBound..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                let user = authority[..<at].split(separator: ":", maxSplits: 1).first ?? ""
                let prefix = url[url.startIndex..<schemeEnd.upperBound]
                let rest = url[at..<url.endIndex]
                masked = Substring(prefix + user + ":****" + rest)
            }
        }
        guard let questionMark = masked.firstIndex(of: "?") else { return String(masked) }
        let fragmentStart = masked[questionMark...].firstIndex(of: "#") ?? masked.endIndex
        let query = masked[masked.index(after: questionMark)..<fragmentStart].split(separator: "&", omittingEmptySubsequences: false)
            .map { pair -> String in
                guard let equals = pair.firstIndex(of: "="), isSecret(parameterName: String(pair.prefix(upTo: equals))) else {
                    return String(pair)
                }
                return pair.prefix(through: equals) + "****"
            }
        return masked[...questionMark] + query.joined(separator: "&") + masked[fragmentStart...]
    }
}

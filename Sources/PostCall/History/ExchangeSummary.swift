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
    /// The whole body's size in bytes.
    public var bodyBytes: Int

    enum CodingKeys: String, CodingKey {
        case method, url, status, headers, body
        case bodyBytes = "body_bytes"
    }

    static func request(_ request: HTTPRequest) -> ExchangeSummary {
        let body = request.body ?? []
        return ExchangeSummary(
            method: request.method, url: SecretMasking.maskURL(request.url), status: nil,
            headers: request.headers.map { [$0.name, SecretMasking.maskHeader(name: $0.name, value: $0.value)] },
            body: String(decoding: body.prefix(HTTPTransfer.keptBodyBytes), as: UTF8.self), bodyBytes: body.count)
    }

    static func response(status: Int?, headers: [Webservice.Field], bodyPrefix: [UInt8], bodyBytes: Int)
        -> ExchangeSummary
    {
        ExchangeSummary(
            method: nil, url: nil, status: status,
            headers: headers.map { [$0.name, SecretMasking.maskHeader(name: $0.name, value: $0.value)] },
            body: String(decoding: bodyPrefix, as: UTF8.self), bodyBytes: bodyBytes)
    }

    /// The summary as compact JSON for the `attempts` table. Written by hand: this runs for every
    /// attempt, and JSONEncoder cost more than the HTTP exchange itself.
    var json: String {
        var output = "{\"body\":\"" + TemplateEncoding.jsonString.encode(body) + "\",\"body_bytes\":\(bodyBytes),\"headers\":["
        for (index, header) in headers.enumerated() {
            if index > 0 { output += "," }
            output += "[" + header.map { "\"" + TemplateEncoding.jsonString.encode($0) + "\"" }.joined(separator: ",") + "]"
        }
        output += "]"
        if let method { output += ",\"method\":\"" + TemplateEncoding.jsonString.encode(method) + "\"" }
        if let status { output += ",\"status\":\(status)" }
        if let url { output += ",\"url\":\"" + TemplateEncoding.jsonString.encode(url) + "\"" }
        return output + "}"
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

    /// The value to show for a header: secrets keep only their scheme (`Bearer ****`).
    public static func maskHeader(name: String, value: String) -> String {
        let lowered = name.lowercased()
        guard secretHeaders.contains(lowered) || secretWords.contains(where: { lowered.utf8.containsBytes(of: $0) })
        else { return value }
        if let space = value.firstIndex(of: " "), lowered.hasSuffix("authorization") {
            return value[..<space] + " ****"
        }
        return "****"
    }

    /// The URL with any `user:password@` password replaced.
    public static func maskURL(_ url: String) -> String {
        // Most URLs have no user info: answer that from the bytes, without building substrings.
        guard url.utf8.contains(UInt8(ascii: "@")), let schemeEnd = url.firstRange(of: "://") else { return url }
        let authorityEnd = url[schemeEnd.upperBound...].firstIndex { "/?#".contains($0) } ?? url.endIndex
        let authority = url[schemeEnd.upperBound..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else { return url }
        let userinfo = authority[..<at]
        let user = userinfo.split(separator: ":", maxSplits: 1).first ?? ""
        return url[..<schemeEnd.upperBound] + user + ":****" + url[at...]
    }
}

extension String.UTF8View {
    /// Whether `word`'s bytes appear contiguously; Foundation's and the regex-based searches
    /// cost microseconds per call on this hot path.
    fileprivate func containsBytes(of word: String) -> Bool {
        let needle = Array(word.utf8)
        let haystack = Array(self)
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { start in
            haystack[start..<(start + needle.count)].elementsEqual(needle)
        }
    }
}

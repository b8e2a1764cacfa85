import Foundation

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

    /// The summary as compact JSON for the `attempts` table.
    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// Masks credentials before anything is stored or logged.
public enum SecretMasking {
    /// Header names whose values are credentials, compared in lower case.
    public static let secretHeaders: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "apikey",
        "x-auth-token", "x-access-token", "x-csrf-token", "x-amz-security-token",
    ]

    /// The value to show for a header: secrets keep only their scheme (`Bearer ****`).
    public static func maskHeader(name: String, value: String) -> String {
        let lowered = name.lowercased()
        guard secretHeaders.contains(lowered) || lowered.contains("secret") || lowered.contains("token")
            || lowered.contains("password")
        else { return value }
        if let space = value.firstIndex(of: " "), lowered.hasSuffix("authorization") {
            return value[..<space] + " ****"
        }
        return "****"
    }

    /// The URL with any `user:password@` password replaced.
    public static func maskURL(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let authorityEnd = url[schemeEnd.upperBound...].firstIndex { "/?#".contains($0) } ?? url.endIndex
        let authority = url[schemeEnd.upperBound..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else { return url }
        let userinfo = authority[..<at]
        let user = userinfo.split(separator: ":", maxSplits: 1).first ?? ""
        return url[..<schemeEnd.upperBound] + user + ":****" + url[at...]
    }
}

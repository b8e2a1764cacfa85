import FoundationEssentials
import PostCallCCurl

/// Fetches a WSDL (or a schema it imports) from an http(s) URL or a local file.
public enum WSDLFetcher {
    /// Reads `location`: an http:// or https:// URL, or a file path (file:// or plain).
    public static func fetch(_ location: String, timeoutMilliseconds: Int64 = 30_000) throws -> [UInt8] {
        let lowered = location.lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else {
            let path = lowered.hasPrefix("file://") ? String(location.dropFirst(7)) : location
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PostCallError(.invalidInput, "cannot read WSDL \(location): no such readable file")
            }
            return Array(data)
        }
        let transfer = try HTTPTransfer(keptBodyBytes: XMLDocument.maximumBytes, maximumBodyBytes: XMLDocument.maximumBytes)
        try transfer.prepare(
            HTTPRequest(method: "GET", url: location, headers: [], body: nil), timeoutMilliseconds: timeoutMilliseconds,
            userAgent: "postcall/0.1", inspectedBodyBytes: XMLDocument.maximumBytes, followRedirects: true)
        let code = curl_easy_perform(transfer.easy)
        if transfer.bodyTooLarge {
            throw PostCallError(.invalidInput, "WSDL \(location) is larger than \(XMLDocument.maximumBytes >> 20) MiB")
        }
        guard code == CURLE_OK else {
            let failure = AttemptFailure.classify(curlCode: code, detail: transfer.errorDetail)
            throw PostCallError(.transport, "cannot fetch WSDL \(location): \(failure.message(isPrivate: false))")
        }
        guard let status = transfer.httpStatus, (200..<300).contains(status) else {
            throw PostCallError(.transport, "cannot fetch WSDL \(location): HTTP \(transfer.httpStatus ?? 0)")
        }
        return transfer.bodyPrefix
    }

    /// Fetches and parses the WSDL at `location`, with the schemas it imports where reachable.
    public static func describe(_ location: String) throws -> WSDLDescription {
        let bytes = try fetch(location)
        let parser = WSDLParser(fetch: { try? fetch($0) })
        return try parser.parse(bytes, source: location)
    }
}

import Glibc
import PostCallCCurl

/// Fetches a WSDL (or a schema it imports) from an http(s) URL or a local file, never reading
/// more than ``XMLDocument/maximumBytes``.
public enum WSDLFetcher {
    /// Reads `location`: an http:// or https:// URL, or a file path (file:// or plain).
    public static func fetch(_ location: String, timeoutMilliseconds: Int64 = 30_000) throws -> [UInt8] {
        guard isRemote(location) else {
            let path = location.lowercased().hasPrefix("file://") ? String(location.dropFirst(7)) : location
            return try readFile(path, named: location)
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
    /// A document fetched over http(s) imports only over http(s): a remote WSDL naming
    /// `file:///…` must not make postcall read this host's files.
    public static func describe(_ location: String) throws -> WSDLDescription {
        let bytes = try fetch(location)
        let remote = isRemote(location)
        let parser = WSDLParser(fetch: { imported in
            guard !remote || isRemote(imported) else {
                throw PostCallError(.invalidInput, "\(imported): a WSDL fetched over http(s) imports only over http(s)")
            }
            return try fetch(imported)
        })
        return try parser.parse(bytes, source: location)
    }

    static func isRemote(_ location: String) -> Bool {
        let lowered = location.lowercased()
        return lowered.hasPrefix("http://") || lowered.hasPrefix("https://")
    }

    /// Reads a regular file of at most ``XMLDocument/maximumBytes``, stopping as soon as it is
    /// longer: a device or a 3 GiB file is refused without being read.
    private static func readFile(_ path: String, named location: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            throw PostCallError(.invalidInput, "cannot read WSDL \(location): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw PostCallError(.invalidInput, "cannot read WSDL \(location): not a regular file")
        }
        let limit = XMLDocument.maximumBytes
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var filled = 0
        while filled <= limit {
            let count = bytes[filled...].withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            filled += count
        }
        guard filled <= limit else {
            throw PostCallError(.invalidInput, "WSDL \(location) is larger than \(limit >> 20) MiB")
        }
        bytes.removeSubrange(filled...)
        return bytes
    }
}

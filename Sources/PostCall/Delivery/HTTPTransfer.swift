import Glibc
import PostCallCCurl

/// One libcurl easy handle and what it received. Reused from transfer to transfer, so the
/// connection cache and allocations are not rebuilt for every event.
final class HTTPTransfer {
    /// How much of a response body is kept for the history, and inspected for a REST webservice.
    static let keptBodyBytes = 4096
    /// A response body larger than this is not read further; the status line already decided.
    static let maximumBodyBytes = 1 << 20
    /// Response headers kept for the history, at most.
    static let keptHeaderCount = 64
    /// The environment variables libcurl takes an http or https proxy from.
    static let proxyVariables = ["http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
    /// The first of ``proxyVariables`` set (libcurl ignores empty ones), read once: the
    /// environment does not change while the process runs.
    static let proxyVariableSet: String? = proxyVariables.first { name in getenv(name).map { $0.pointee != 0 } ?? false }

    let easy: UnsafeMutableRawPointer
    /// How much of the body this transfer keeps: the history's share, or a SOAP fault's.
    private var keptBodyLimit: Int
    private let bodyLimit: Int
    /// The request's headers, as set on the handle by `prepare`.
    private let headerList = HeaderList()
    /// libcurl writes failure details here; it must stay at one address while the handle lives.
    private let errorBuffer: UnsafeMutablePointer<CChar>

    /// The files the request in flight uploads, open until the transfer is released.
    /// The body being uploaded, read by libcurl through ``readBody``.
    private var uploadBody: UploadBody?

    private(set) var bodyPrefix: [UInt8] = []
    private(set) var bodyBytes = 0
    private(set) var bodyTooLarge = false
    private(set) var responseHeaders = ResponseHeaders()
    /// The addresses this transfer may connect to.
    private let networkPolicy: NetworkPolicy
    /// The address the network policy refused a connection to, if it did.
    private(set) var deniedAddress: String?
    /// libcurl's own CA bundle, restored for a request without a CA file of its own (the handle
    /// is reused, and a CA file set for one webservice would stay for the next).
    private var defaultCAFile: String?
    /// The TLS files the handle holds now: set again only when a request needs others, since
    /// libcurl copies each string it is given.
    private var appliedTLS = TLSFiles()
    /// The URL of the transfer being prepared, parsed by libcurl's URL API.
    private let url: TransferURL
    /// The User-Agent set on the handle: libcurl keeps its own copy, which no other option resets.
    private var appliedUserAgent: String?

    /// - Parameters:
    ///   - keptBodyBytes: how much of the response body to keep.
    ///   - maximumBodyBytes: the transfer stops once the body grows past this.
    ///   - networkPolicy: the addresses it may connect to, checked at every connection.
    init(
        keptBodyBytes: Int = HTTPTransfer.keptBodyBytes, maximumBodyBytes: Int = HTTPTransfer.maximumBodyBytes,
        networkPolicy: NetworkPolicy = NetworkPolicy()
    ) throws {
        keptBodyLimit = keptBodyBytes
        bodyLimit = maximumBodyBytes
        self.networkPolicy = networkPolicy
        guard let easy = curl_easy_init() else {
            throw PostCallError(.transport, "libcurl could not create a transfer (out of memory?)")
        }
        self.easy = easy
        do {
            url = try TransferURL()
        } catch {
            curl_easy_cleanup(easy)
            throw error
        }
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        // The options every transfer shares are set once: the handle is reused, and setting them
        // again for every event showed in profiles.
        let userdata = Unmanaged.passUnretained(self).toOpaque()
        try Self.check([
            postcall_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1),
            postcall_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https"),
            postcall_easy_setopt_string(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"),
            // Redirects are decided by RedirectRule and followed by the worker: libcurl would
            // turn a POST into a GET and forward custom secret headers to another origin.
            postcall_easy_setopt_long(easy, CURLOPT_MAXREDIRS, 3),
            postcall_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1),
            postcall_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2),
            postcall_easy_setopt_write_callback(easy, HTTPTransfer.receiveBody, userdata),
            postcall_easy_setopt_header_callback(easy, HTTPTransfer.receiveHeader, userdata),
            postcall_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer),
            // Post-call requests and the responses we keep are small; libcurl's defaults (16 KiB
            // down, 64 KiB up per transfer) would cost 80 MiB with 1,000 transfers in flight.
            postcall_easy_setopt_long(easy, CURLOPT_BUFFERSIZE, 8192),
            postcall_easy_setopt_long(easy, CURLOPT_UPLOAD_BUFFERSIZE, 16384),
        ])
        var defaultCA: UnsafeMutableRawPointer?
        if postcall_easy_getinfo_pointer(easy, CURLINFO_CAINFO, &defaultCA) == CURLE_OK, let defaultCA {
            defaultCAFile = String(cString: defaultCA.assumingMemoryBound(to: CChar.self))
        }
        if !networkPolicy.denied.isEmpty {
            try Self.check([postcall_easy_setopt_opensocket_callback(easy, HTTPTransfer.openSocket, userdata)])
        }
        // No proxy, said once. With a guard on: straight to the receiver, never through a proxy
        // named in the environment (`http_proxy`, `https_proxy`, `all_proxy`), since the socket
        // would then be the proxy's, the receiver's address unchecked, and the proxy would reach
        // it for us. Without a guard and with no proxy in the environment: otherwise libcurl
        // looks up five variables for every transfer (3,100 instructions an event, callgrind).
        // Without a guard and with one set, libcurl keeps reading them, `no_proxy` included.
        if !networkPolicy.denied.isEmpty || Self.proxyVariableSet == nil {
            try Self.check([
                postcall_easy_setopt_string(easy, CURLOPT_PROXY, ""),
                postcall_easy_setopt_string(easy, CURLOPT_NOPROXY, ""),
            ])
        }
    }

    deinit {
        curl_easy_cleanup(easy)
        errorBuffer.deallocate()
    }

    /// Sets up the handle for `request`, replacing whatever the previous transfer set. The first
    /// `inspectedBodyBytes` of the response body are kept. Redirects are followed only with
    /// `followRedirects` (fetching a WSDL); a delivery leaves them to ``RedirectRule``.
    /// `upload` is the request's ``HTTPRequest/Upload`` with its files opened; `tls` its
    /// webservice's CA bundle and client certificate, if any.
    func prepare(
        _ request: HTTPRequest, upload: UploadBody? = nil, timeoutMilliseconds: Int64, userAgent: String,
        inspectedBodyBytes: Int = HTTPTransfer.keptBodyBytes, followRedirects: Bool = false, tls: TLSFiles = TLSFiles()
    ) throws {
        releaseUpload()
        keptBodyLimit = min(inspectedBodyBytes, bodyLimit)
        headerList.removeAll()
        bodyPrefix.removeAll(keepingCapacity: true)
        bodyBytes = 0
        bodyTooLarge = false
        deniedAddress = nil
        responseHeaders.removeAll()
        errorBuffer.pointee = 0

        // For a body sent from memory, libcurl writes `Content-Type:
        // application/x-www-form-urlencoded` itself when no Content-Type is given: the same
        // bytes, copied at once, where a header handed to it is printed a character at a time
        // (6,000 instructions an event, callgrind).
        let formLineFromLibcurl = request.body != nil && upload == nil
        for field in request.headers
        where !(formLineFromLibcurl && field.name == "Content-Type" && field.value == "application/x-www-form-urlencoded") {
            headerList.append(name: field.name, value: field.value)
        }
        if let contentType = upload?.contentType { headerList.append(name: "Content-Type", value: contentType) }
        // curl would otherwise wait a second for a 100-continue on larger bodies.
        headerList.append(line: "Expect:")

        // HTTPGET first: it clears the previous transfer's method and body; a body then makes it
        // a POST, and any other method is sent as a custom one.
        let hasBody = request.body != nil || upload != nil
        let customMethod = request.method == "GET" || (request.method == "POST" && hasBody) ? nil : request.method
        // The first option libcurl refuses, if any, kept as they are set: gathering the codes in
        // arrays cost three allocations and 1,100 instructions an event (callgrind).
        var refused = CURLE_OK
        func note(_ code: CURLcode) { if refused == CURLE_OK { refused = code } }
        if url.set(request.url) {
            note(postcall_easy_setopt_pointer(easy, CURLOPT_CURLU, UnsafeMutableRawPointer(url.handle)))
        } else {
            note(postcall_easy_setopt_pointer(easy, CURLOPT_CURLU, nil))
            note(postcall_easy_setopt_string(easy, CURLOPT_URL, request.url))
        }
        note(postcall_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Int(timeoutMilliseconds)))
        note(postcall_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Int(min(timeoutMilliseconds, 10_000))))
        note(postcall_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList.list()))
        note(postcall_easy_setopt_long(easy, CURLOPT_HTTPGET, 1))
        note(postcall_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, customMethod))
        note(postcall_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, followRedirects ? 1 : 0))
        if userAgent != appliedUserAgent {
            let code = postcall_easy_setopt_string(easy, CURLOPT_USERAGENT, userAgent)
            if code == CURLE_OK { appliedUserAgent = userAgent }
            note(code)
        }
        if tls != appliedTLS {
            note(postcall_easy_setopt_string(easy, CURLOPT_CAINFO, tls.caFile ?? defaultCAFile))
            note(postcall_easy_setopt_string(easy, CURLOPT_SSLCERT, tls.clientCertificate))
            note(postcall_easy_setopt_string(easy, CURLOPT_SSLKEY, tls.clientKey))
            appliedTLS = tls
        }
        if let body = request.body {
            note(postcall_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
            if body.isEmpty {
                note(postcall_easy_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, ""))
            } else {
                // COPYPOSTFIELDS copies, so the body need not outlive this call.
                note(body.withUnsafeBytes {
                    postcall_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress))
                })
            }
        }
        if let upload {
            note(postcall_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, nil))
            note(postcall_easy_setopt_long(easy, CURLOPT_POST, 1))
            note(postcall_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(upload.size)))
            note(postcall_easy_setopt_read_callback(easy, Self.readBody, Self.seekBody, Unmanaged.passUnretained(upload).toOpaque()))
            upload.rewind()
        }
        uploadBody = upload
        try Self.check(refused)
    }

    /// Lets go of the last upload's body (and so its files). libcurl's handle is told first,
    /// since it refers to the body until then.
    func releaseUpload() {
        guard uploadBody != nil else { return }
        _ = postcall_easy_setopt_read_callback(easy, nil, nil, nil)
        uploadBody = nil
    }

    private static let readBody: curl_read_callback = { buffer, size, count, userdata in
        guard let buffer, let userdata else { return Int(CURL_READFUNC_ABORT) }
        let body = Unmanaged<UploadBody>.fromOpaque(userdata).takeUnretainedValue()
        return body.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: size * count)) ?? Int(CURL_READFUNC_ABORT)
    }

    /// libcurl rewinds to send the body again on a new connection; only to its start.
    private static let seekBody: curl_seek_callback = { userdata, offset, origin in
        guard let userdata, origin == SEEK_SET, offset == 0 else { return Int32(CURL_SEEKFUNC_CANTSEEK) }
        Unmanaged<UploadBody>.fromOpaque(userdata).takeUnretainedValue().rewind()
        return Int32(CURL_SEEKFUNC_OK)
    }

    private static func check(_ codes: [CURLcode]) throws {
        try check(codes.first { $0 != CURLE_OK } ?? CURLE_OK)
    }

    private static func check(_ code: CURLcode) throws {
        guard code == CURLE_OK else {
            throw PostCallError(.transport, "libcurl rejected an option: \(String(cString: curl_easy_strerror(code)))")
        }
    }

    /// The final HTTP status, if a response arrived.
    var httpStatus: Int? {
        var code = 0
        guard postcall_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK, code > 0 else { return nil }
        return code
    }

    /// libcurl's own explanation of the last failure, with details such as the address.
    var errorDetail: String {
        String(cString: errorBuffer)
    }

    /// Where a 3xx response points, resolved against the request's URL.
    var redirectURL: String? {
        var pointer: UnsafeMutableRawPointer?
        guard postcall_easy_getinfo_pointer(easy, CURLINFO_REDIRECT_URL, &pointer) == CURLE_OK, let pointer else { return nil }
        return String(cString: pointer.assumingMemoryBound(to: CChar.self))
    }

    /// What the transfer left behind, for ``DeliveryDecider``.
    func finished(_ code: CURLcode) -> FinishedTransfer {
        FinishedTransfer(
            curlCode: code, errorDetail: code == CURLE_OK ? "" : errorDetail, httpStatus: httpStatus, headers: responseHeaders,
            body: bodyPrefix, bodyBytes: bodyBytes, bodyTooLarge: bodyTooLarge,
            redirectURL: httpStatus.map { (300..<400).contains($0) } == true ? redirectURL : nil,
            deniedAddress: code == CURLE_OK ? nil : deniedAddress)
    }

    /// Opens each socket libcurl needs, once the address is known (after DNS, for every
    /// redirect and every address tried), unless the network policy refuses it.
    private static let openSocket: curl_opensocket_callback = { clientp, _, address in
        guard let clientp, let address else { return CURL_SOCKET_BAD }
        let transfer = Unmanaged<HTTPTransfer>.fromOpaque(clientp).takeUnretainedValue()
        var bytes = [UInt8](repeating: 0, count: 16)
        let count = bytes.withUnsafeMutableBufferPointer { postcall_sockaddr_ip(address, $0.baseAddress) }
        guard count > 0 else { return CURL_SOCKET_BAD }
        let ip = Array(bytes.prefix(Int(count)))
        guard transfer.networkPolicy.permits(ip) else {
            transfer.deniedAddress = IPNetwork.text(of: ip)
            return CURL_SOCKET_BAD
        }
        return postcall_open_socket(address)
    }

    /// Gives back the memory of a large inspected body (a SOAP response), so an idle transfer
    /// keeps no more than the history's share.
    func releaseInspectedBody() {
        if bodyPrefix.capacity > Self.keptBodyBytes * 2 { bodyPrefix = [] }
    }

    private static let receiveBody: postcall_data_callback = { data, size, count, userdata in
        guard let data, let userdata else { return 0 }
        let transfer = Unmanaged<HTTPTransfer>.fromOpaque(userdata).takeUnretainedValue()
        let length = size * count
        transfer.bodyBytes += length
        if transfer.bodyPrefix.count < transfer.keptBodyLimit {
            let take = min(length, transfer.keptBodyLimit - transfer.bodyPrefix.count)
            data.withMemoryRebound(to: UInt8.self, capacity: take) {
                transfer.bodyPrefix.append(contentsOf: UnsafeBufferPointer(start: $0, count: take))
            }
        }
        if transfer.bodyBytes > transfer.bodyLimit {
            transfer.bodyTooLarge = true
            return 0  // makes libcurl stop with CURLE_WRITE_ERROR
        }
        return length
    }

    private static let receiveHeader: postcall_data_callback = { data, size, count, userdata in
        guard let data, let userdata else { return 0 }
        let transfer = Unmanaged<HTTPTransfer>.fromOpaque(userdata).takeUnretainedValue()
        let length = size * count
        data.withMemoryRebound(to: UInt8.self, capacity: length) {
            transfer.receiveHeaderLine(UnsafeBufferPointer(start: $0, count: length))
        }
        return length
    }

    /// Keeps one header line; works on the bytes, since it runs for every header of every response.
    private func receiveHeaderLine(_ bytes: UnsafeBufferPointer<UInt8>) {
        var end = bytes.count
        while end > 0, bytes[end - 1] == UInt8(ascii: "\n") || bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let line = bytes[..<end]
        if line.starts(with: "HTTP/".utf8) {
            // A new status line: a redirect or an interim response came before; keep the last.
            responseHeaders.removeAll()
            return
        }
        guard responseHeaders.count < Self.keptHeaderCount, let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
        var valueStart = colon + 1
        while valueStart < end, bytes[valueStart] == UInt8(ascii: " ") || bytes[valueStart] == UInt8(ascii: "\t") { valueStart += 1 }
        responseHeaders.append(name: UnsafeBufferPointer(rebasing: line[..<colon]), value: UnsafeBufferPointer(rebasing: line[valueStart...]))
    }
}

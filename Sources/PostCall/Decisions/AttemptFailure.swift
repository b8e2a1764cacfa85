import PostCallCCurl

/// Why an attempt did not deliver, and whether trying again can help.
struct AttemptFailure: Sendable, Equatable {
    /// A short class that is safe to keep for a private webservice and to log (`timeout`,
    /// `http 503`, ...). It never carries call data.
    var errorClass: String
    /// The full explanation, which may name addresses, a `Location` or a SOAP fault's text: all
    /// of which can echo call data.
    var detail: String
    /// Whether a later attempt may succeed.
    var isTransient: Bool
    /// Whether the failure says the receiver is unwell (timeouts, 5xx, refused connections), so
    /// it counts towards pausing the webservice.
    var isEndpointFailure: Bool

    init(errorClass: String, detail: String = "", isTransient: Bool, isEndpointFailure: Bool? = nil) {
        self.errorClass = errorClass
        self.detail = detail
        self.isTransient = isTransient
        self.isEndpointFailure = isEndpointFailure ?? isTransient
    }

    /// The text recorded in the history: `class: detail`, or the class alone for a private webservice.
    func message(isPrivate: Bool) -> String {
        isPrivate || detail.isEmpty ? errorClass : "\(errorClass): \(detail)"
    }

    /// The prefix of an error given up on after a transient failure.
    static func gaveUpPrefix(attempts: Int) -> String { "gave up after \(attempts) attempts: " }

    /// What a private webservice would have recorded for `text`, a recorded error: the class
    /// without its detail. Used when a webservice becomes private after errors were recorded.
    static func privateForm(of text: String) -> String {
        // Classes never contain ": ", so the class ends at the first one after any give-up prefix.
        var rest = Substring(text)
        var prefix = ""
        if rest.hasPrefix("gave up after "), let end = rest.firstRange(of: ": ") {
            prefix = String(rest[..<end.upperBound])
            rest = rest[end.upperBound...]
        }
        guard let end = rest.firstRange(of: ": ") else { return text }
        return prefix + rest[..<end.lowerBound]
    }

    /// Classifies a completed HTTP exchange by its status; `nil` means delivered. Redirects are
    /// decided by ``RedirectRule``, SOAP bodies by ``SOAPResponseCheck``, before this.
    static func classify(httpStatus status: Int) -> AttemptFailure? {
        switch status {
        case 200..<300:
            return nil
        case 408, 425, 429, 500..<600:
            return AttemptFailure(errorClass: "http \(status)", isTransient: true)
        default:
            return AttemptFailure(errorClass: "http \(status)", isTransient: false)
        }
    }

    /// Classifies a libcurl failure, one where no usable response arrived. A TLS failure names
    /// the webservice's TLS files it concerns, so the operator knows which to fix.
    static func classify(curlCode code: CURLcode, detail: String, tls: TLSFiles = TLSFiles()) -> AttemptFailure {
        let errorClass: String
        var isTransient = true
        switch code {
        case CURLE_OPERATION_TIMEDOUT: errorClass = "timeout"
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: errorClass = "dns"
        case CURLE_COULDNT_CONNECT: errorClass = "connect"
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2,
            CURLE_HTTP2_STREAM:
            errorClass = "connection"
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE:
            errorClass = "tls"
        case CURLE_TOO_MANY_REDIRECTS:
            errorClass = "redirects"
            isTransient = false
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            errorClass = "url"
            isTransient = false
        default:
            errorClass = "transport"
        }
        let summary = String(cString: curl_easy_strerror(code))
        var explained = detail.isEmpty ? summary : detail
        switch code {
        case CURLE_SSL_CACERT_BADFILE:
            explained = "cannot use the CA file \(tls.caFile ?? "of the system") (--ca-file): \(explained)"
        case CURLE_SSL_CERTPROBLEM:
            explained = "cannot use the client certificate \(tls.clientCertificate ?? "?") or its key \(tls.clientKey ?? "?") (--client-cert, --client-key): \(explained)"
        case CURLE_PEER_FAILED_VERIFICATION:
            explained = "the receiver's certificate is not trusted by \(tls.caFile.map { "the CA file \($0) (--ca-file)" } ?? "the system's CAs; a private CA needs --ca-file"): \(explained)"
        default:
            break
        }
        return AttemptFailure(errorClass: errorClass, detail: explained, isTransient: isTransient)
    }
}

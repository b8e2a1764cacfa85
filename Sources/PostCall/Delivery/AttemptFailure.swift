import PostCallCCurl

/// Why an attempt did not deliver, and whether trying again can help.
struct AttemptFailure: Sendable, Equatable {
    /// A short class that is safe to keep for a private webservice (`timeout`, `http 503`, ...).
    var errorClass: String
    /// The full explanation, which may name addresses from the rendered URL.
    var detail: String
    /// Whether a later attempt may succeed.
    var isTransient: Bool

    /// The text recorded in the history.
    func message(isPrivate: Bool) -> String {
        isPrivate || detail.isEmpty ? errorClass : "\(errorClass): \(detail)"
    }

    /// Classifies a completed HTTP exchange by its status; `nil` means delivered.
    static func classify(httpStatus status: Int) -> AttemptFailure? {
        switch status {
        case 200..<300:
            return nil
        case 408, 425, 429, 500..<600:
            return AttemptFailure(errorClass: "http \(status)", detail: "", isTransient: true)
        case 300..<400:
            return AttemptFailure(
                errorClass: "http \(status)", detail: "redirect without a usable Location; check the URL",
                isTransient: false)
        default:
            return AttemptFailure(errorClass: "http \(status)", detail: "", isTransient: false)
        }
    }

    /// Classifies a libcurl failure, one where no usable response arrived.
    static func classify(curlCode code: CURLcode, detail: String) -> AttemptFailure {
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
        return AttemptFailure(
            errorClass: errorClass, detail: detail.isEmpty ? summary : detail, isTransient: isTransient)
    }
}

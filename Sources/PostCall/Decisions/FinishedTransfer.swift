import PostCallCCurl

/// What one HTTP exchange left behind when libcurl finished it: the input of every decision
/// about a response. A plain value, so the decisions can be tested without sockets.
struct FinishedTransfer: Sendable, Equatable {
    /// libcurl's result for the transfer.
    var curlCode: CURLcode
    /// libcurl's own explanation of a failure (may name addresses).
    var errorDetail: String = ""
    /// The final status, if a response arrived.
    var httpStatus: Int?
    /// The response's headers, as received.
    var headers = ResponseHeaders()
    /// The start of the body: as much as the decisions inspect (more for SOAP, which needs the fault).
    var body: [UInt8] = []
    /// The whole body's size as far as it was read.
    var bodyBytes: Int = 0
    /// The body grew past what a worker reads; the transfer was stopped there.
    var bodyTooLarge: Bool = false
    /// Where a 3xx points, resolved against the request URL by libcurl.
    var redirectURL: String?
    /// The address the worker's network policy (`--deny-networks`) refused to connect to.
    var deniedAddress: String?

    /// Whether a response arrived: a stopped oversized body still counts, the status decided.
    var hasResponse: Bool {
        httpStatus != nil && (curlCode == CURLE_OK || (curlCode == CURLE_WRITE_ERROR && bodyTooLarge))
    }

    /// The response's `Location`, as sent.
    var location: String? {
        headers.last(named: "location")
    }
}

extension CURLcode: @retroactive @unchecked Sendable {}

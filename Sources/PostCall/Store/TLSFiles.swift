/// The TLS files of a webservice: a private CA bundle to verify its receiver with (instead of
/// the system's), and a client certificate and key for a receiver that demands one (mTLS).
/// Paths on the worker's host, readable by the worker; verification is never turned off.
public struct TLSFiles: Sendable, Equatable {
    public var caFile: String?
    public var clientCertificate: String?
    public var clientKey: String?

    public init(caFile: String? = nil, clientCertificate: String? = nil, clientKey: String? = nil) {
        self.caFile = caFile
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
    }

    /// The files as `(option, path)`, for messages that say which file and why.
    var named: [(option: String, path: String)] {
        [("--ca-file", caFile), ("--client-cert", clientCertificate), ("--client-key", clientKey)].compactMap { option, path in
            path.map { (option, $0) }
        }
    }

    /// Checks the paths a person typed: absolute (the worker runs elsewhere), and a certificate
    /// only with its key.
    func validate(webservice: String) throws {
        for (option, path) in named where !path.hasPrefix("/") {
            throw PostCallError(.invalidInput, "webservice \(webservice): \(option) \(path.debugDescription) must be an absolute path")
        }
        guard (clientCertificate == nil) == (clientKey == nil) else {
            throw PostCallError(.invalidInput, "webservice \(webservice): --client-cert and --client-key go together")
        }
    }
}

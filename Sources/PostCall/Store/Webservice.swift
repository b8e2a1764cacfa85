/// A post-call webservice as the IVR designer configured it.
public struct Webservice: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case rest, soap
    }

    /// The REST request type.
    public enum Method: String, Sendable, CaseIterable {
        case get = "GET", post = "POST", postRaw = "POST_RAW", put = "PUT", delete = "DELETE"

        /// The HTTP method on the wire.
        public var httpMethod: String { self == .postRaw ? "POST" : rawValue }
    }

    /// A configured name/value pair: a header or a parameter. Values are templates.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public var name: String
    public var kind: Kind
    public var method: Method
    /// The URL template.
    public var url: String
    public var headers: [Field]
    public var parameters: [Field]
    /// The raw body template (POST_RAW, or PUT with a body).
    public var body: String?
    /// File parts of a `multipart/form-data` body (POST, PUT): field names and path templates.
    public var files: [Field]
    /// A path template whose file is the raw body (POST_RAW, PUT).
    public var bodyFile: String?
    /// Keep an event's files once it is delivered; by default they are deleted then.
    public var keepFiles: Bool
    /// SOAP header elements' values: paths and templates, as `parameters` are for the body.
    public var soapHeaderParameters: [Field] = []
    /// A WS-Security UsernameToken sent in the SOAP header.
    public var wsSecurity: WSSecurity?
    /// A private CA bundle, and a client certificate and key (mTLS).
    public var tls = TLSFiles()
    /// Standard Webhooks signing secrets, each sealed by ``SecretKey`` (never in clear here).
    public var signingSecrets: [String] = []
    /// Connect plus transfer time allowed for one attempt.
    public var timeoutMilliseconds: Int64
    /// Privacy mode: no call data is kept once an event is delivered or dead.
    public var isPrivate: Bool
    /// Retries stop once an event has had this many attempts and is older than `maxAge`.
    public var maxAttempts: Int
    /// See `maxAttempts`; 0 lets `maxAttempts` alone decide.
    public var maxAgeMilliseconds: Int64
    /// Set for a SOAP webservice.
    public var soap: SOAPBinding?
    /// Follow up to three redirects, keeping method and body, instead of failing the attempt.
    public var followRedirects: Bool

    /// Whether its requests upload files from disk.
    public var sendsFiles: Bool { !files.isEmpty || bodyFile != nil }

    public init(
        name: String, kind: Kind = .rest, method: Method = .post, url: String = "", headers: [Field] = [],
        parameters: [Field] = [], body: String? = nil, timeoutMilliseconds: Int64 = 10_000, isPrivate: Bool = false,
        maxAttempts: Int = 12, maxAgeMilliseconds: Int64 = 86_400_000, soap: SOAPBinding? = nil,
        followRedirects: Bool = false, files: [Field] = [], bodyFile: String? = nil, keepFiles: Bool = false
    ) {
        self.followRedirects = followRedirects
        self.files = files
        self.bodyFile = bodyFile
        self.keepFiles = keepFiles
        self.soap = soap
        self.name = name
        self.kind = kind
        self.method = method
        self.url = url
        self.headers = headers
        self.parameters = parameters
        self.body = body
        self.timeoutMilliseconds = timeoutMilliseconds
        self.isPrivate = isPrivate
        self.maxAttempts = maxAttempts
        self.maxAgeMilliseconds = maxAgeMilliseconds
    }
}

/// A request ready to be sent: every template rendered and encoded.
public struct HTTPRequest: Sendable, Equatable {
    /// Files a request carries, read from disk while it is sent.
    public enum Upload: Sendable, Equatable {
        /// A `multipart/form-data` body: the text parts (the parameters), then the file parts
        /// (a field name and a rendered path each).
        case multipart(fields: [Webservice.Field], files: [Webservice.Field])
        /// One file as the raw body.
        case rawBody(path: String)

        /// The rendered paths, in the order they are sent.
        public var paths: [String] {
            switch self {
            case .multipart(_, let files): files.map(\.value)
            case .rawBody(let path): [path]
            }
        }
    }

    public var method: String
    public var url: String
    public var headers: [Webservice.Field]
    /// A body held in memory; `nil` when there is none or the body is an ``Upload``.
    public var body: [UInt8]?
    public var upload: Upload?

    public init(method: String, url: String, headers: [Webservice.Field], body: [UInt8]?, upload: Upload? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.upload = upload
    }

    /// The first header called `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// A REST webservice's templates, parsed once and rendered for each event.
public struct RESTRequestTemplate: Sendable {
    public let method: Webservice.Method
    private let url: Template
    private let headers: [(name: String, value: Template)]
    private let parameters: [(name: Template, value: Template)]
    private let body: Template?
    private let bodyEncoding: TemplateEncoding
    /// File parts: field names and path templates.
    private let files: [(field: String, path: Template)]
    private let bodyFile: Template?
    /// The configured Content-Type, if any.
    private let contentType: String?

    static let defaultRawContentType = "text/plain; charset=utf-8"

    /// Parses the webservice's templates; throws if one is malformed or the URL is not http(s).
    public init(_ webservice: Webservice) throws {
        method = webservice.method
        url = try Template(webservice.url)
        guard case .literal(let prefix) = url.segments.first,
            prefix.lowercased().hasPrefix("http://") || prefix.lowercased().hasPrefix("https://"),
            prefix.dropFirst(prefix.lowercased().hasPrefix("https://") ? 8 : 7).contains(where: { $0 != "/" })
        else {
            throw PostCallError(
                .invalidInput,
                "webservice \(webservice.name): URL \(webservice.url.debugDescription) must start with http:// or https:// and a host written out, not a variable")
        }
        let configuredHeaders: [(name: String, value: Template)] = try webservice.headers.map { field in
            guard Self.isToken(field.name) else {
                throw PostCallError(
                    .invalidInput, "webservice \(webservice.name): \(field.name.debugDescription) is not a valid header name")
            }
            guard !Self.breaksHeader(field.value) else {
                throw PostCallError(
                    .invalidInput, "webservice \(webservice.name): header \(field.name) contains a line break")
            }
            return (field.name, try Template(field.value))
        }
        // Ours is the one a receiver can rely on (see `render`); header names are not templates,
        // so a configured one is left out here once rather than looked for in every request.
        headers = configuredHeaders.filter { $0.name.lowercased() != "idempotency-key" }
        parameters = try webservice.parameters.map { (try Template($0.name), try Template($0.value)) }
        try Self.checkBodies(of: webservice)
        body = try webservice.body.map(Template.init)
        files = try webservice.files.map { ($0.name, try Template($0.value)) }
        bodyFile = try webservice.bodyFile.map(Template.init)
        contentType = webservice.headers.first { $0.name.lowercased() == "content-type" }?.value
        bodyEncoding = TemplateEncoding.forContentType(contentType ?? Self.defaultRawContentType)
    }

    /// Which body goes with which request type, as Fuse's REST module has them: a raw body
    /// (`--body` or `--body-file`) with POST_RAW and PUT, file parts with POST and PUT.
    private static func checkBodies(of webservice: Webservice) throws {
        let name = webservice.name
        if webservice.body != nil, webservice.method != .postRaw && webservice.method != .put {
            throw PostCallError(.invalidInput, "webservice \(name): --body is sent only with --method POST_RAW or PUT")
        }
        if webservice.bodyFile != nil, webservice.method != .postRaw && webservice.method != .put {
            throw PostCallError(.invalidInput, "webservice \(name): --body-file is sent only with --method POST_RAW or PUT")
        }
        if !webservice.files.isEmpty, webservice.method != .post && webservice.method != .put {
            throw PostCallError(.invalidInput, "webservice \(name): --file parts are sent only with --method POST or PUT")
        }
        let bodies = [webservice.body != nil, webservice.bodyFile != nil, !webservice.files.isEmpty].filter { $0 }.count
        guard bodies <= 1 else {
            throw PostCallError(.invalidInput, "webservice \(name): give one of --body, --body-file and --file, not several")
        }
        if !webservice.files.isEmpty, webservice.headers.contains(where: { $0.name.lowercased() == "content-type" }) {
            throw PostCallError(
                .invalidInput,
                "webservice \(name): a multipart body sets its own Content-Type (with its boundary); remove the Content-Type header")
        }
        for file in webservice.files {
            guard !file.name.isEmpty, !file.name.contains(where: { $0 == "\"" || $0.isNewline }) else {
                throw PostCallError(.invalidInput, "webservice \(name): --file field name \(file.name.debugDescription) is not usable")
            }
        }
    }

    /// Renders the request for one event.
    ///
    /// - Throws: ``PostCallError`` with code `.template` if a variable would put a line break into
    ///   a header; the message names the header but never the value, which may be private.
    public func render(_ values: TemplateValues, eventID: Int64) throws -> HTTPRequest {
        var target = url.render(values, encoding: .urlComponent)
        var formBytes: [UInt8] = []
        formBytes.reserveCapacity(64 * parameters.count)
        for (index, (name, value)) in parameters.enumerated() {
            if index > 0 { formBytes.append(UInt8(ascii: "&")) }
            name.render(values, encoding: .formComponent, into: &formBytes)
            formBytes.append(UInt8(ascii: "="))
            value.render(values, encoding: .formComponent, into: &formBytes)
        }

        var renderedHeaders = try Self.renderHeaders(headers, values, eventID: eventID)

        var requestBody: [UInt8]?
        var upload: HTTPRequest.Upload?
        switch bodyKind {
        case .none:
            if !formBytes.isEmpty { target = Self.appendQuery(String(decoding: formBytes, as: UTF8.self), to: target) }
        case .multipart:
            // Text parts carry the values as they are: multipart needs no encoding.
            let fields = parameters.map { name, value in
                Webservice.Field(name: name.render(values, encoding: .verbatim), value: value.render(values, encoding: .verbatim))
            }
            upload = .multipart(fields: fields, files: files.map { Webservice.Field(name: $0.field, value: $0.path.render(values, encoding: .verbatim)) })
        case .form:
            requestBody = formBytes
            if contentType == nil {
                renderedHeaders.append(Webservice.Field(name: "Content-Type", value: "application/x-www-form-urlencoded"))
            }
        case .raw:
            if !formBytes.isEmpty { target = Self.appendQuery(String(decoding: formBytes, as: UTF8.self), to: target) }
            if let bodyFile {
                let path = bodyFile.render(values, encoding: .verbatim)
                upload = .rawBody(path: path)
                if contentType == nil {
                    renderedHeaders.append(Webservice.Field(name: "Content-Type", value: FileContentType.forPath(path)))
                }
            } else {
                var raw: [UInt8] = []
                body?.render(values, encoding: bodyEncoding, into: &raw)
                requestBody = raw
                if contentType == nil {
                    renderedHeaders.append(Webservice.Field(name: "Content-Type", value: Self.defaultRawContentType))
                }
            }
        }
        // Ours is the one a receiver can rely on: the same event id on every retry. (A configured
        // one was left out when the template was made.)
        renderedHeaders.append(Webservice.Field(name: "Idempotency-Key", value: values.eventKey))
        return HTTPRequest(method: method.httpMethod, url: target, headers: renderedHeaders, body: requestBody, upload: upload)
    }

    /// The paths of the files an event's request uploads, as rendered (not yet checked).
    public func filePaths(_ values: TemplateValues) -> [String] {
        files.map { $0.path.render(values, encoding: .verbatim) } + (bodyFile.map { [$0.render(values, encoding: .verbatim)] } ?? [])
    }

    private enum BodyKind {
        /// Parameters go to the query string (GET, DELETE).
        case none
        /// Parameters as `application/x-www-form-urlencoded` (POST, PUT without a body).
        case form
        /// Parameters as text parts and the files as file parts (POST, PUT with `--file`).
        case multipart
        /// The body template or a file as is; parameters go to the query string (POST_RAW, PUT
        /// with `--body` or `--body-file`).
        case raw
    }

    private var bodyKind: BodyKind {
        switch method {
        case .get, .delete: .none
        case .post: files.isEmpty ? .form : .multipart
        case .put: !files.isEmpty ? .multipart : body != nil || bodyFile != nil ? .raw : .form
        case .postRaw: .raw
        }
    }

    /// Appends `query` before any fragment, after an existing query string if there is one.
    static func appendQuery(_ query: String, to url: String) -> String {
        let fragmentStart = url.firstIndex(of: "#") ?? url.endIndex
        let base = url[..<fragmentStart]
        let separator = base.contains("?") ? (base.hasSuffix("?") || base.hasSuffix("&") ? "" : "&") : "?"
        return base + separator + query + url[fragmentStart...]
    }

    /// Renders header templates as they are (headers have no encoding), refusing a value that a
    /// variable would break into two lines: that would let call data inject headers.
    static func renderHeaders(
        _ headers: [(name: String, value: Template)], _ values: TemplateValues, eventID: Int64
    ) throws -> [Webservice.Field] {
        var rendered: [Webservice.Field] = []
        rendered.reserveCapacity(headers.count + 3)
        for (name, template) in headers {
            let value = template.render(values, encoding: .verbatim)
            if breaksHeader(value) {
                throw PostCallError(
                    .template,
                    "header \(name) of event \(eventID) would contain a line break from a variable; fix the variable or the header template")
            }
            rendered.append(Webservice.Field(name: name, value: value))
        }
        return rendered
    }

    /// Whether `value` holds CR, LF or NUL. Checked on scalars: "\r\n" is one Character in Swift.
    static func breaksHeader(_ value: String) -> Bool {
        value.unicodeScalars.contains { $0 == "\r" || $0 == "\n" || $0 == "\0" }
    }

    /// RFC 9110 token characters.
    private static func isToken(_ name: String) -> Bool {
        !name.isEmpty
            && name.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII
                    && (isASCIIAlphanumeric(scalar) || "!#$%&'*+-.^_`|~".unicodeScalars.contains(scalar))
            }
    }

    private static func isASCIIAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}

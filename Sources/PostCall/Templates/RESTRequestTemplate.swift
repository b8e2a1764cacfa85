/// A REST webservice's templates, parsed once and rendered for each event.
public struct RESTRequestTemplate: Sendable {
    public let method: Webservice.Method
    private let url: Template
    private let headers: [(name: String, value: Template)]
    private let parameters: [(name: Template, value: Template)]
    private let body: Template?
    private let bodyEncoding: TemplateEncoding

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
        headers = try webservice.headers.map { field in
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
        parameters = try webservice.parameters.map { (try Template($0.name), try Template($0.value)) }
        if let bodyText = webservice.body {
            guard webservice.method == .postRaw else {
                throw PostCallError(
                    .invalidInput, "webservice \(webservice.name): a body is sent only with --method POST_RAW")
            }
            body = try Template(bodyText)
        } else {
            body = nil
        }
        let contentType = webservice.headers.first { $0.name.lowercased() == "content-type" }?.value
        bodyEncoding = TemplateEncoding.forContentType(contentType ?? Self.defaultRawContentType)
    }

    /// Renders the request for one event.
    ///
    /// - Throws: ``PostCallError`` with code `.template` if a variable would put a line break into
    ///   a header; the message names the header but never the value, which may be private.
    public func render(_ values: TemplateValues, eventID: Int64) throws -> HTTPRequest {
        var target = url.render(values, encode: TemplateEncoding.urlComponent.encode)
        let form = parameters.map { name, value in
            name.render(values, encode: TemplateEncoding.formComponent.encode) + "="
                + value.render(values, encode: TemplateEncoding.formComponent.encode)
        }.joined(separator: "&")

        var renderedHeaders = try Self.renderHeaders(headers, values, eventID: eventID)

        var requestBody: [UInt8]?
        switch method {
        case .get, .delete:
            if !form.isEmpty { target = Self.appendQuery(form, to: target) }
        case .post, .put:
            requestBody = Array(form.utf8)
            if !renderedHeaders.contains(where: { $0.name.lowercased() == "content-type" }) {
                renderedHeaders.append(Webservice.Field(name: "Content-Type", value: "application/x-www-form-urlencoded"))
            }
        case .postRaw:
            if !form.isEmpty { target = Self.appendQuery(form, to: target) }
            requestBody = Array((body?.render(values, encode: bodyEncoding.encode) ?? "").utf8)
            if !renderedHeaders.contains(where: { $0.name.lowercased() == "content-type" }) {
                renderedHeaders.append(Webservice.Field(name: "Content-Type", value: Self.defaultRawContentType))
            }
        }
        // Ours is the one a receiver can rely on: the same event id on every retry.
        renderedHeaders.removeAll { $0.name.lowercased() == "idempotency-key" }
        renderedHeaders.append(Webservice.Field(name: "Idempotency-Key", value: values.eventKey))
        return HTTPRequest(method: method.httpMethod, url: target, headers: renderedHeaders, body: requestBody)
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
            let value = template.render(values) { $0 }
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

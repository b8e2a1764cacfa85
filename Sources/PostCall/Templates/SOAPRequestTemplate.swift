/// A SOAP webservice's templates, checked against its operation's element tree once and
/// rendered into an envelope for each event.
public struct SOAPRequestTemplate: Sendable {
    private let endpoint: Template
    private let binding: SOAPBinding
    private let headers: [(name: String, value: Template)]
    /// Body parameters: where each value goes, and its template.
    private let parameters: [(path: SOAPParameterPath, value: Template)]
    private let headerParameters: [(path: SOAPParameterPath, value: Template)]
    private let security: WSSecurity?

    public init(_ webservice: Webservice) throws {
        guard let binding = webservice.soap else {
            throw PostCallError(.invalidInput, "webservice \(webservice.name) is SOAP but has no WSDL operation; set --wsdl and --operation")
        }
        let operation = binding.operation
        if let unsupported = operation.unsupported {
            throw PostCallError(
                .invalidInput,
                "webservice \(webservice.name): operation \(operation.name) uses what postcall cannot build exactly: \(unsupported)")
        }
        // The REST rules for the URL and headers apply as they are: reuse their checks.
        var asREST = webservice
        asREST.kind = .rest
        asREST.method = .post
        asREST.parameters = []
        asREST.body = nil
        asREST.files = []
        asREST.bodyFile = nil
        _ = try RESTRequestTemplate(asREST)
        endpoint = try Template(webservice.url)
        // The envelope's own headers and our Idempotency-Key replace configured ones (see
        // `render`); header names are not templates, so those are left out once, here.
        headers = try webservice.headers.filter { !Self.setByEnvelope.contains($0.name.lowercased()) }
            .map { ($0.name, try Template($0.value)) }

        func bound(_ fields: [Webservice.Field], shape: SOAPMessageShape, option: String) throws -> [(SOAPParameterPath, Template)] {
            do {
                let paths = try shape.check(fields.map(\.name), option: option)
                return try zip(paths, fields).map { path, field in
                    let template = try Template(field.value)
                    if path.steps.last?.name == SchemaElement.anyName { try Self.checkXMLTemplate(template, path: path) }
                    return (path, template)
                }
            } catch let error as PostCallError {
                throw PostCallError(error.code, "webservice \(webservice.name): \(error.message)")
            }
        }
        parameters = try bound(
            webservice.parameters,
            shape: SOAPMessageShape(
                operationName: operation.name, roots: operation.parameterRoots, wrapper: operation.wrapped ? operation.body.first : nil),
            option: "--param")
        headerParameters = try bound(
            webservice.soapHeaderParameters,
            shape: SOAPMessageShape(operationName: operation.name, roots: webservice.soapHeaderParameters.isEmpty ? [] : operation.headers, wrapper: nil),
            option: "--header-param")
        self.binding = binding
        security = webservice.wsSecurity
    }

    /// The headers `render` sets, lower-cased: configured ones of these names are left out.
    private static let setByEnvelope: Set<String> = ["content-type", "soapaction", "idempotency-key"]

    /// An `xs:any` template must render to well-formed XML whatever the variables hold: they are
    /// XML-escaped, so rendering it with sample values shows the template's own structure.
    private static func checkXMLTemplate(_ template: Template, path: SOAPParameterPath) throws {
        let sample = TemplateValues(variables: [:], callID: "", reason: "", eventID: 0, outboxID: "", createdAt: 0, attempt: 1)
        do {
            try SOAPEnvelope.checkFragment(template.render(sample, encoding: .xml), source: "parameter \(path)")
        } catch let error as PostCallError {
            throw PostCallError(.invalidInput, "--param \(path) must be well-formed XML (its own namespaces declared): \(error.message)")
        }
    }

    public func render(_ values: TemplateValues, eventID: Int64) throws -> HTTPRequest {
        var renderedHeaders = try RESTRequestTemplate.renderHeaders(headers, values, eventID: eventID)
        let action = binding.soapAction
        if binding.version == .soap12 {
            renderedHeaders.append(Webservice.Field(
                name: "Content-Type",
                value: "application/soap+xml; charset=utf-8" + (action.isEmpty ? "" : "; action=\"\(action)\"")))
        } else {
            renderedHeaders.append(Webservice.Field(name: "Content-Type", value: "text/xml; charset=utf-8"))
            renderedHeaders.append(Webservice.Field(name: "SOAPAction", value: "\"\(action)\""))
        }
        renderedHeaders.append(Webservice.Field(name: "Idempotency-Key", value: values.eventKey))
        let body = try SOAPEnvelope.build(
            version: binding.version, operation: binding.operation, body: Self.rendered(parameters, values),
            headers: Self.rendered(headerParameters, values),
            security: security.map { security in { try security.writeFresh(into: $0, of: $1, now: Timestamp.now()) } })
        return HTTPRequest(
            method: "POST", url: endpoint.render(values, encoding: .urlComponent), headers: renderedHeaders,
            body: body)
    }

    /// Values as they go in: as they are (libxml2 escapes them), or XML-escaped inside an
    /// `xs:any` template, whose own markup stays markup.
    private static func rendered(_ parameters: [(path: SOAPParameterPath, value: Template)], _ values: TemplateValues)
        -> [(SOAPParameterPath, String)]
    {
        parameters.map { path, template in
            let isXML = path.steps.last?.name == SchemaElement.anyName
            return (path, isXML ? template.render(values, encoding: .xml) : template.render(values, encoding: .verbatim))
        }
    }
}

/// A webservice's parsed templates, REST or SOAP.
public enum RequestTemplate: Sendable {
    case rest(RESTRequestTemplate)
    case soap(SOAPRequestTemplate)

    public init(_ webservice: Webservice) throws {
        switch webservice.kind {
        case .rest: self = .rest(try RESTRequestTemplate(webservice))
        case .soap: self = .soap(try SOAPRequestTemplate(webservice))
        }
    }

    /// The paths of the files an event's request uploads (a SOAP request uploads none).
    public func filePaths(_ values: TemplateValues) -> [String] {
        if case .rest(let template) = self { return template.filePaths(values) }
        return []
    }

    public func render(_ values: TemplateValues, eventID: Int64) throws -> HTTPRequest {
        switch self {
        case .rest(let template): try template.render(values, eventID: eventID)
        case .soap(let template): try template.render(values, eventID: eventID)
        }
    }
}

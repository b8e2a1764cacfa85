/// A SOAP webservice's templates, parsed once and rendered into an envelope for each event.
public struct SOAPRequestTemplate: Sendable {
    private let endpoint: Template
    private let binding: SOAPBinding
    private let headers: [(name: String, value: Template)]
    /// Configured parameters, in the WSDL's order.
    private let parameters: [(name: String, value: Template)]

    public init(_ webservice: Webservice) throws {
        guard let binding = webservice.soap else {
            throw PostCallError(.invalidInput, "webservice \(webservice.name) is SOAP but has no WSDL operation; set --wsdl and --operation")
        }
        // The REST rules for the URL and headers apply as they are: reuse their checks.
        var asREST = webservice
        asREST.kind = .rest
        asREST.method = .post
        asREST.parameters = []
        asREST.body = nil
        _ = try RESTRequestTemplate(asREST)
        endpoint = try Template(webservice.url)
        headers = try webservice.headers.map { ($0.name, try Template($0.value)) }

        let known = Dictionary(binding.operation.parameters.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for field in webservice.parameters where known[field.name] == nil {
            throw PostCallError(
                .invalidInput,
                "webservice \(webservice.name): operation \(binding.operation.name) has no parameter \(field.name); it takes \(binding.operation.parameters.map(\.name).joined(separator: ", "))")
        }
        let configured = Set(webservice.parameters.map(\.name))
        if let missing = binding.operation.parameters.first(where: { $0.required && !configured.contains($0.name) }) {
            throw PostCallError(
                .invalidInput, "webservice \(webservice.name): operation \(binding.operation.name) requires parameter \(missing.name); add --param \(missing.name)=...")
        }
        let values = Dictionary(webservice.parameters.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
        parameters = try binding.operation.parameters.compactMap { parameter in
            try values[parameter.name].map { (parameter.name, try Template($0)) }
        }
        self.binding = binding
    }

    public func render(_ values: TemplateValues, eventID: Int64) throws -> HTTPRequest {
        var renderedHeaders = try RESTRequestTemplate.renderHeaders(headers, values, eventID: eventID)
        renderedHeaders.removeAll { ["content-type", "soapaction", "idempotency-key"].contains($0.name.lowercased()) }
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
            version: binding.version, operation: binding.operation,
            parameters: parameters.map { ($0.name, $0.value.render(values) { $0 }) })
        return HTTPRequest(
            method: "POST", url: endpoint.render(values, encode: TemplateEncoding.urlComponent.encode), headers: renderedHeaders,
            body: body)
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

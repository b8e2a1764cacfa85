/// Reads a WSDL 1.1 document: document/literal (wrapped and bare) and rpc styles, several
/// bindings and ports, and schemas imported from reachable locations.
struct WSDLParser {
    static let wsdlNamespace = "http://schemas.xmlsoap.org/wsdl/"
    static let soap11BindingNamespace = "http://schemas.xmlsoap.org/wsdl/soap/"
    static let soap12BindingNamespace = "http://schemas.xmlsoap.org/wsdl/soap12/"
    static let schemaNamespace = "http://www.w3.org/2001/XMLSchema"

    /// Fetches a document referenced by the WSDL (an imported schema); `nil` when unreachable.
    var fetch: (String) -> [UInt8]? = { _ in nil }

    private struct Schema {
        let element: XMLElement
        var targetNamespace: String { element.attribute("targetNamespace") ?? "" }
        var qualified: Bool { element.attribute("elementFormDefault") == "qualified" }
    }

    func parse(_ bytes: [UInt8], source: String) throws -> WSDLDescription {
        let document = try XMLDocument(bytes, source: source)
        guard let root = document.root, root.name == "definitions", root.namespace == Self.wsdlNamespace else {
            throw PostCallError(.invalidInput, "\(source) is not a WSDL 1.1 document (its root is not wsdl:definitions)")
        }
        let targetNamespace = root.attribute("targetNamespace") ?? ""
        var documents = [document]
        var schemas = root.child("types")?.children("schema").map(Schema.init) ?? []
        // Imported and included schemas, where they can be fetched: one level deep is what real
        // services use (a .NET ?wsdl with ?xsd=xsd0 imports, a Java service with an .xsd beside it).
        for schema in schemas {
            for reference in schema.element.children("import") + schema.element.children("include") {
                guard let location = reference.attribute("schemaLocation"), let bytes = fetch(Self.resolve(location, against: source)),
                    let imported = try? XMLDocument(bytes, source: location), let importedRoot = imported.root,
                    importedRoot.name == "schema"
                else { continue }
                documents.append(imported)
                schemas.append(Schema(element: importedRoot))
            }
        }

        let messages = Dictionary(
            root.children("message").compactMap { message in message.attribute("name").map { ($0, message) } },
            uniquingKeysWith: { first, _ in first })
        let portTypes = Dictionary(
            root.children("portType").compactMap { portType in portType.attribute("name").map { ($0, portType) } },
            uniquingKeysWith: { first, _ in first })

        // Addresses of each binding, from the services' ports.
        var addresses: [String: String] = [:]
        for port in root.children("service").flatMap({ $0.children("port") }) {
            guard let binding = port.attribute("binding").map({ port.resolve($0).name }),
                let location = port.child("address")?.attribute("location")
            else { continue }
            addresses[binding] = addresses[binding] ?? location
        }

        var operations: [String: WSDLOperation] = [:]
        var order: [String] = []
        for binding in root.children("binding") {
            guard let soapBinding = binding.child("binding"),
                let version = soapBinding.namespace == Self.soap11BindingNamespace
                    ? SOAPVersion.soap11 : soapBinding.namespace == Self.soap12BindingNamespace ? SOAPVersion.soap12 : nil,
                let bindingName = binding.attribute("name"),
                let portTypeName = binding.attribute("type").map({ binding.resolve($0).name }),
                let portType = portTypes[portTypeName]
            else { continue }  // an HTTP binding, or one without a port type: not SOAP
            let defaultStyle = soapBinding.attribute("style").flatMap(SOAPStyle.init(rawValue:)) ?? .document
            for operation in binding.children("operation") {
                guard let name = operation.attribute("name") else { continue }
                let soapOperation = operation.child("operation")
                let style = soapOperation?.attribute("style").flatMap(SOAPStyle.init(rawValue:)) ?? defaultStyle
                let bodyNamespace = operation.child("input")?.child("body")?.attribute("namespace")
                let bound = WSDLBinding(
                    version: version, soapAction: soapOperation?.attribute("soapAction") ?? "",
                    endpoint: addresses[bindingName] ?? "")
                if var known = operations[name] {
                    if !known.bindings.contains(bound) { known.bindings.append(bound) }
                    operations[name] = known
                    continue
                }
                guard let abstract = portType.children("operation").first(where: { $0.attribute("name") == name }),
                    let inputMessage = abstract.child("input")?.attribute("message").map({ abstract.resolve($0).name }),
                    let message = messages[inputMessage]
                else { continue }
                var described = try describe(
                    operation: name, style: style, message: message, schemas: schemas,
                    rpcNamespace: bodyNamespace ?? targetNamespace, source: source)
                described.bindings = [bound]
                operations[name] = described
                order.append(name)
            }
        }
        withExtendedLifetime(documents) {}
        return WSDLDescription(targetNamespace: targetNamespace, operations: order.compactMap { operations[$0] })
    }

    private func describe(
        operation name: String, style: SOAPStyle, message: XMLElement, schemas: [Schema], rpcNamespace: String, source: String
    ) throws -> WSDLOperation {
        let parts = message.children("part")
        if style == .rpc {
            return WSDLOperation(
                name: name, style: .rpc, wrapper: name, namespace: rpcNamespace, qualifiedParameters: false,
                parameters: parts.map { WSDLParameter(name: $0.attribute("name") ?? "", type: $0.attribute("type") ?? "", required: true) },
                bindings: [])
        }
        // document/literal: each part names a schema element.
        let elements = parts.compactMap { part -> (Schema, XMLElement)? in
            guard let reference = part.attribute("element") else { return nil }
            let (namespace, local) = part.resolve(reference)
            return findElement(local, namespace: namespace, in: schemas)
        }
        guard elements.count == parts.count, let first = elements.first else {
            throw PostCallError(
                .invalidInput, "\(source): operation \(name) refers to schema elements that are not in the WSDL or its reachable imports")
        }
        if elements.count == 1, let fields = sequence(of: first.1, in: schemas) {
            // Wrapped: one element whose sequence holds the parameters (the common .NET/Java shape).
            return WSDLOperation(
                name: name, style: .document, wrapper: first.1.attribute("name"), namespace: first.0.targetNamespace,
                qualifiedParameters: first.0.qualified, parameters: fields, bindings: [])
        }
        // Bare: each part's element is a parameter of its own.
        return WSDLOperation(
            name: name, style: .document, wrapper: nil, namespace: first.0.targetNamespace, qualifiedParameters: true,
            parameters: elements.map { schema, element in
                WSDLParameter(name: element.attribute("name") ?? "", type: element.attribute("type") ?? "complex", required: true)
            }, bindings: [])
    }

    private func findElement(_ name: String, namespace: String?, in schemas: [Schema]) -> (Schema, XMLElement)? {
        for schema in schemas where namespace == nil || schema.targetNamespace == namespace {
            if let element = schema.element.children("element").first(where: { $0.attribute("name") == name }) {
                return (schema, element)
            }
        }
        return nil
    }

    /// The parameters of an element whose (inline or named) complex type is a sequence.
    private func sequence(of element: XMLElement, in schemas: [Schema]) -> [WSDLParameter]? {
        var complexType = element.child("complexType")
        if complexType == nil, let typeName = element.attribute("type") {
            let (namespace, local) = element.resolve(typeName)
            guard namespace != Self.schemaNamespace else { return nil }
            complexType = schemas.filter { namespace == nil || $0.targetNamespace == namespace }
                .flatMap { $0.element.children("complexType") }.first { $0.attribute("name") == local }
        }
        guard let complexType else { return nil }
        guard let sequence = complexType.child("sequence") ?? complexType.child("all") else {
            return complexType.children().isEmpty ? [] : nil
        }
        return sequence.children("element").map { field in
            WSDLParameter(
                name: field.attribute("name") ?? field.attribute("ref").map { field.resolve($0).name } ?? "",
                type: field.attribute("type") ?? "complex",
                required: (field.attribute("minOccurs") ?? "1") != "0")
        }
    }

    /// Resolves a schema location relative to the WSDL's own address.
    static func resolve(_ location: String, against source: String) -> String {
        if location.contains("://") { return location }
        if location.hasPrefix("/"), let scheme = source.firstRange(of: "://") {
            let host = source[scheme.upperBound...].firstIndex(of: "/") ?? source.endIndex
            return String(source[..<host]) + location
        }
        guard let slash = source.lastIndex(of: "/") else { return location }
        return String(source[...slash]) + location
    }
}

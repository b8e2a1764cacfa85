/// Reads a WSDL 1.1 document and the WSDL and schema documents it imports, to any depth:
/// document/literal (wrapped and bare) and rpc (literal and encoded) operations, their body and
/// header elements as trees, several bindings and ports.
///
/// What it cannot build exactly (abstract elements, mixed content, SOAP-encoded arrays, a
/// repeated sequence or choice) marks the operation ``WSDLOperation/unsupported`` instead of
/// being dropped or guessed.
struct WSDLParser {
    static let wsdlNamespace = "http://schemas.xmlsoap.org/wsdl/"
    static let soap11BindingNamespace = "http://schemas.xmlsoap.org/wsdl/soap/"
    static let soap12BindingNamespace = "http://schemas.xmlsoap.org/wsdl/soap12/"
    static let schemaNamespace = "http://www.w3.org/2001/XMLSchema"
    static let soapEncodingNamespace = "http://schemas.xmlsoap.org/soap/encoding/"
    /// Documents one WSDL may pull in, imports included.
    static let maximumDocuments = 64
    /// Time all imports of one WSDL may take together (each fetch has its own timeout too).
    static let importDeadlineNanoseconds: UInt64 = 60_000_000_000
    /// Elements nested deeper than this are not expanded.
    static let maximumDepth = 32

    /// Fetches an imported document by its resolved location; throws why it could not.
    var fetch: (String) throws -> [UInt8] = { location in
        throw PostCallError(.invalidInput, "\(location): imports are not fetched here")
    }

    func parse(_ bytes: [UInt8], source: String) throws -> WSDLDescription {
        let document = try XMLDocument(bytes, source: source)
        guard let root = document.root, root.name == "definitions", root.namespace == Self.wsdlNamespace else {
            throw PostCallError(.invalidInput, "\(source) is not a WSDL 1.1 document (its root is not wsdl:definitions)")
        }
        var loader = Loader(fetch: fetch)
        try loader.loadDefinitions(root, location: source)
        let index = Index(loader)
        var operations: [String: WSDLOperation] = [:]
        var order: [String] = []
        for (binding, definitions) in index.bindings {
            guard let soapBinding = binding.children().first(where: { $0.name == "binding" && Self.isSOAPBinding($0.namespace) }),
                let version: SOAPVersion = soapBinding.namespace == Self.soap11BindingNamespace ? .soap11 : .soap12,
                let portType = binding.attribute("type").flatMap({ index.portTypes[Index.key(binding.resolve($0))] })
            else { continue }  // an HTTP binding: not SOAP
            let bindingKey = Index.key(namespace: definitions.attribute("targetNamespace"), name: binding.attribute("name") ?? "")
            let defaultStyle = soapBinding.attribute("style").flatMap(SOAPStyle.init(rawValue:)) ?? .document
            for operation in binding.children("operation") {
                guard let name = operation.attribute("name") else { continue }
                let soapOperation = operation.children().first { $0.name == "operation" && Self.isSOAPBinding($0.namespace) }
                let bound = WSDLBinding(
                    version: version, soapAction: soapOperation?.attribute("soapAction") ?? "",
                    endpoint: index.addresses[bindingKey] ?? "")
                if var known = operations[name] {
                    if !known.bindings.contains(bound) { known.bindings.append(bound) }
                    operations[name] = known
                    continue
                }
                let style = soapOperation?.attribute("style").flatMap(SOAPStyle.init(rawValue:)) ?? defaultStyle
                guard var described = describe(
                    operation: operation, named: name, style: style, portType: portType, index: index,
                    defaultNamespace: definitions.attribute("targetNamespace") ?? "")
                else { continue }
                described.bindings = [bound]
                operations[name] = described
                order.append(name)
            }
        }
        if order.isEmpty {
            let declared = index.portTypes.values.flatMap { $0.children("operation") }.count
            if declared > 0 || !loader.failures.isEmpty {
                throw PostCallError(
                    .invalidInput,
                    "\(source) declares \(declared) operation(s) but no SOAP binding postcall could read"
                        + (loader.failures.isEmpty ? "" : "; could not fetch: " + loader.failures.joined(separator: "; ")))
            }
        }
        return WSDLDescription(
            targetNamespace: root.attribute("targetNamespace") ?? "", operations: order.compactMap { operations[$0] })
    }

    static func isSOAPBinding(_ namespace: String?) -> Bool {
        namespace == soap11BindingNamespace || namespace == soap12BindingNamespace
    }

    /// One operation as a binding declares it; `nil` when the port type does not have it.
    private func describe(
        operation: XMLElement, named name: String, style: SOAPStyle, portType: XMLElement, index: Index,
        defaultNamespace: String
    ) -> WSDLOperation? {
        guard let abstract = portType.children("operation").first(where: { $0.attribute("name") == name }),
            let inputMessage = abstract.child("input")?.attribute("message").map({ abstract.resolve($0) })
        else { return nil }
        let input = operation.child("input")
        let soapElements = input?.children().filter { Self.isSOAPBinding($0.namespace) } ?? []
        let soapBody = soapElements.first { $0.name == "body" }
        let use: SOAPUse = soapBody?.attribute("use") == "encoded" ? .encoded : .literal
        var builder = ElementBuilder(index: index, encoded: use == .encoded)
        guard let message = index.messages[Index.key(inputMessage)] else {
            return WSDLOperation(
                name: name, style: style, use: use, body: [], wrapped: false,
                unsupported: "its input message \(inputMessage.name) is not in the WSDL or its imports" + index.failureNote)
        }
        var parts = message.children("part")
        if let listed = soapBody?.attribute("parts")?.split(separator: " ").map(String.init) {
            parts = parts.filter { listed.contains($0.attribute("name") ?? "") }
        }
        // Parts the binding sends as headers are not body parameters.
        var headers: [SchemaElement] = []
        for header in soapElements where header.name == "header" {
            guard let headerMessage = header.attribute("message").map({ header.resolve($0) }),
                let partName = header.attribute("part"),
                let part = index.messages[Index.key(headerMessage)]?.children("part").first(where: { $0.attribute("name") == partName })
            else {
                builder.refuse("a soap:header names a message part that is not in the WSDL" + index.failureNote)
                continue
            }
            if headerMessage.name == inputMessage.name && headerMessage.namespace == inputMessage.namespace {
                parts.removeAll { $0.attribute("name") == partName }
            }
            if let element = builder.part(part, inRPC: false) { headers.append(element) }
        }

        let body: [SchemaElement]
        let wrapped: Bool
        if style == .rpc {
            let namespace = soapBody?.attribute("namespace") ?? defaultNamespace
            body = [SchemaElement(name: name, namespace: namespace, children: parts.compactMap { builder.part($0, inRPC: true) })]
            wrapped = true
        } else {
            body = parts.compactMap { builder.part($0, inRPC: false) }
            wrapped = body.count == 1 && (body.first.map { $0.isStructure || !$0.attributes.isEmpty } ?? false)
                && body.first?.recursive == false
        }
        return WSDLOperation(
            name: name, style: style, use: use, body: body, wrapped: wrapped, headers: headers,
            unsupported: builder.refusals.isEmpty ? nil : builder.refusals.joined(separator: "; "))
    }

    /// Resolves a location relative to the document that names it.
    static func resolve(_ location: String, against source: String) -> String {
        if location.contains("://") { return location }
        if location.hasPrefix("/"), let scheme = source.firstRange(of: "://") {
            let host = source[scheme.upperBound...].firstIndex(of: "/") ?? source.endIndex
            return String(source[..<host]) + location
        }
        if location.hasPrefix("?"), let query = source.firstIndex(of: "?") { return String(source[..<query]) + location }
        if location.hasPrefix("?") { return source + location }
        let base = source.split(separator: "?", maxSplits: 1).first.map(String.init) ?? source
        guard let slash = base.lastIndex(of: "/") else { return location }
        return String(base[...slash]) + location
    }
}

// MARK: Loading

extension WSDLParser {
    /// A schema document or a `types` schema, with what qualification it sets.
    struct Schema {
        let element: XMLElement
        /// A chameleon include takes the including schema's namespace.
        let targetNamespace: String
        var qualifiedElements: Bool { element.attribute("elementFormDefault") == "qualified" }
        var qualifiedAttributes: Bool { element.attribute("attributeFormDefault") == "qualified" }
    }

    /// Walks imports and includes, each document fetched once, within ``maximumDocuments``.
    struct Loader {
        let fetch: (String) throws -> [UInt8]
        var definitions: [XMLElement] = []
        var schemas: [Schema] = []
        var failures: [String] = []
        var seen: Set<String> = []
        private let deadline = Timestamp.monotonicNanoseconds() + WSDLParser.importDeadlineNanoseconds

        init(fetch: @escaping (String) throws -> [UInt8]) { self.fetch = fetch }

        mutating func loadDefinitions(_ root: XMLElement, location: String) throws {
            seen.insert(location)
            definitions.append(root)
            for schema in root.child("types")?.children("schema") ?? [] {
                try loadSchema(schema, location: location, namespace: nil)
            }
            for reference in root.children("import") {
                guard let target = reference.attribute("location") else { continue }
                guard let imported = try load(WSDLParser.resolve(target, against: location)) else { continue }
                if imported.root.name == "definitions" && imported.root.namespace == WSDLParser.wsdlNamespace {
                    try loadDefinitions(imported.root, location: imported.location)
                } else if imported.root.name == "schema" {
                    try loadSchema(imported.root, location: imported.location, namespace: nil)
                }
            }
        }

        mutating func loadSchema(_ element: XMLElement, location: String, namespace inherited: String?) throws {
            let schema = Schema(element: element, targetNamespace: element.attribute("targetNamespace") ?? inherited ?? "")
            schemas.append(schema)
            for reference in element.children() where ["import", "include", "redefine"].contains(reference.name) {
                guard let target = reference.attribute("schemaLocation") else { continue }  // a namespace already loaded
                guard let imported = try load(WSDLParser.resolve(target, against: location)), imported.root.name == "schema"
                else { continue }
                try loadSchema(
                    imported.root, location: imported.location,
                    namespace: reference.name == "import" ? nil : schema.targetNamespace)
            }
        }

        /// Fetches and parses a document not loaded before; `nil` (with the reason kept) when it
        /// cannot be had.
        private mutating func load(_ location: String) throws -> (root: XMLElement, location: String)? {
            guard seen.insert(location).inserted else { return nil }
            guard Timestamp.monotonicNanoseconds() < deadline else {
                throw PostCallError(.invalidInput, "fetching the WSDL's imports took longer than a minute; stopped before \(location)")
            }
            guard seen.count <= WSDLParser.maximumDocuments else {
                throw PostCallError(
                    .invalidInput, "the WSDL imports more than \(WSDLParser.maximumDocuments) documents; refusing to fetch \(location)")
            }
            do {
                let document = try XMLDocument(try fetch(location), source: location)
                guard let root = document.root else { return nil }
                return (root, location)
            } catch let error as PostCallError {
                failures.append(error.message)
                return nil
            }
        }
    }

    /// The global declarations of every loaded document, by `{namespace}name`.
    struct Index {
        var elements: [String: (XMLElement, Schema)] = [:]
        var complexTypes: [String: (XMLElement, Schema)] = [:]
        var simpleTypes: [String: (XMLElement, Schema)] = [:]
        var groups: [String: (XMLElement, Schema)] = [:]
        var attributeGroups: [String: (XMLElement, Schema)] = [:]
        var attributes: [String: (XMLElement, Schema)] = [:]
        var messages: [String: XMLElement] = [:]
        var portTypes: [String: XMLElement] = [:]
        /// Each binding with the definitions it came from, in document order.
        var bindings: [(XMLElement, XMLElement)] = []
        var addresses: [String: String] = [:]
        let failures: [String]

        init(_ loader: Loader) {
            failures = loader.failures
            for schema in loader.schemas {
                for child in schema.element.children() {
                    guard let name = child.attribute("name") else { continue }
                    let key = Self.key(namespace: schema.targetNamespace, name: name)
                    switch child.name {
                    case "element": elements[key] = elements[key] ?? (child, schema)
                    case "complexType": complexTypes[key] = complexTypes[key] ?? (child, schema)
                    case "simpleType": simpleTypes[key] = simpleTypes[key] ?? (child, schema)
                    case "group": groups[key] = groups[key] ?? (child, schema)
                    case "attributeGroup": attributeGroups[key] = attributeGroups[key] ?? (child, schema)
                    case "attribute": attributes[key] = attributes[key] ?? (child, schema)
                    default: continue
                    }
                }
            }
            for definitions in loader.definitions {
                let namespace = definitions.attribute("targetNamespace")
                for child in definitions.children() {
                    guard let name = child.attribute("name") else { continue }
                    let key = Self.key(namespace: namespace, name: name)
                    switch child.name {
                    case "message": messages[key] = messages[key] ?? child
                    case "portType": portTypes[key] = portTypes[key] ?? child
                    case "binding": bindings.append((child, definitions))
                    case "service":
                        for port in child.children("port") {
                            guard let binding = port.attribute("binding").map({ Self.key(port.resolve($0)) }),
                                let address = port.children().first(where: { $0.name == "address" && WSDLParser.isSOAPBinding($0.namespace) })?
                                    .attribute("location")
                            else { continue }
                            addresses[binding] = addresses[binding] ?? address
                        }
                    default: continue
                    }
                }
            }
        }

        static func key(namespace: String?, name: String) -> String { "{\(namespace ?? "")}\(name)" }
        static func key(_ name: (namespace: String?, name: String)) -> String { key(namespace: name.namespace, name: name.name) }

        var failureNote: String { failures.isEmpty ? "" : " (could not fetch: " + failures.joined(separator: "; ") + ")" }
    }
}

// MARK: Element trees

extension WSDLParser {
    /// Turns schema declarations into ``SchemaElement`` trees, noting what it cannot build.
    struct ElementBuilder {
        let index: Index
        /// rpc/encoded: every element carries its type's name for `xsi:type`.
        let encoded: Bool
        private(set) var refusals: [String] = []
        private var typeStack: [String] = []
        private var nextChoiceGroup = 1

        init(index: Index, encoded: Bool) {
            self.index = index
            self.encoded = encoded
        }

        mutating func refuse(_ reason: String) {
            if !refusals.contains(reason) { refusals.append(reason) }
        }

        /// A message part: its element, or (rpc) an unqualified element of its type named after it.
        mutating func part(_ part: XMLElement, inRPC: Bool) -> SchemaElement? {
            let partName = part.attribute("name") ?? ""
            if let reference = part.attribute("element") {
                let name = part.resolve(reference)
                guard let (declaration, schema) = index.elements[Index.key(name)] else {
                    refuse("element \(name.name) (\(name.namespace ?? "no namespace")) is not in the WSDL or its imports" + index.failureNote)
                    return nil
                }
                return element(declaration, schema: schema, global: true, depth: 0)
            }
            guard inRPC, let typeReference = part.attribute("type") else {
                refuse("part \(partName) has no element" + (inRPC ? " or type" : "; document-style parts must name an element"))
                return nil
            }
            var element = SchemaElement(name: partName, namespace: nil)
            typed(&element, reference: typeReference, at: part, depth: 0)
            return element
        }

        /// A declared element (global, local or a `ref`).
        mutating func element(_ declaration: XMLElement, schema: Schema, global: Bool, depth: Int) -> SchemaElement {
            let (minimum, maximum) = Self.occurs(declaration)
            if let reference = declaration.attribute("ref") {
                let name = declaration.resolve(reference)
                guard let (target, targetSchema) = index.elements[Index.key(name)] else {
                    refuse("element \(name.name) is referenced but not declared" + index.failureNote)
                    return SchemaElement(name: name.name, namespace: name.namespace, minOccurs: minimum, maxOccurs: maximum)
                }
                var referenced = element(target, schema: targetSchema, global: true, depth: depth)
                (referenced.minOccurs, referenced.maxOccurs) = (minimum, maximum)
                return referenced
            }
            let name = declaration.attribute("name") ?? ""
            let form = declaration.attribute("form").map { $0 == "qualified" } ?? schema.qualifiedElements
            var result = SchemaElement(
                name: name, namespace: global || form ? schema.targetNamespace : nil, minOccurs: global ? 1 : minimum,
                maxOccurs: global ? 1 : maximum)
            if declaration.attribute("abstract") == "true" || declaration.attribute("substitutionGroup") != nil {
                refuse("element \(name) takes part in a substitution group")
            }
            if let typeReference = declaration.attribute("type") {
                typed(&result, reference: typeReference, at: declaration, depth: depth)
            } else if let complexType = declaration.child("complexType") {
                fill(&result, from: complexType, schema: schema, depth: depth)
            } else if let simpleType = declaration.child("simpleType") {
                result.type = simpleType.descendants("restriction").first?.attribute("base") ?? "xs:string"
            } else {
                result.type = "xs:anyType"
            }
            return result
        }

        /// Gives `element` the type `reference` names: simple, or a structure.
        private mutating func typed(_ element: inout SchemaElement, reference: String, at node: XMLElement, depth: Int) {
            let name = node.resolve(reference)
            if encoded { (element.typeNamespace, element.typeName) = (name.namespace, name.name) }
            if name.namespace == WSDLParser.schemaNamespace || index.simpleTypes[Index.key(name)] != nil {
                element.type = reference
                return
            }
            guard let (complexType, schema) = index.complexTypes[Index.key(name)] else {
                refuse("type \(name.name) (\(name.namespace ?? "no namespace")) is not in the WSDL or its imports" + index.failureNote)
                element.type = reference
                return
            }
            let key = Index.key(name)
            guard !typeStack.contains(key), depth < WSDLParser.maximumDepth else {
                element.recursive = true
                return
            }
            typeStack.append(key)
            fill(&element, from: complexType, schema: schema, depth: depth)
            typeStack.removeLast()
        }

        /// The children and attributes a complex type gives an element.
        private mutating func fill(_ element: inout SchemaElement, from complexType: XMLElement, schema: Schema, depth: Int) {
            if complexType.attribute("mixed") == "true" { refuse("\(element.name) has mixed content (text between elements)") }
            for child in complexType.children() {
                switch child.name {
                case "sequence", "all", "choice", "group":
                    element.children += particles(child, schema: schema, depth: depth + 1)
                case "attribute", "attributeGroup":
                    element.attributes += attributes(child, schema: schema)
                case "complexContent":
                    guard let derivation = child.children().first(where: { $0.name == "extension" || $0.name == "restriction" })
                    else { continue }
                    if let base = derivation.attribute("base").map({ derivation.resolve($0) }) {
                        if base.namespace == WSDLParser.soapEncodingNamespace {
                            refuse("\(element.name) is a SOAP-encoded array, which postcall does not build")
                        } else if derivation.name == "extension", base.namespace != WSDLParser.schemaNamespace {
                            // The base's content comes first; the element keeps its own type name.
                            let ownType = (element.typeNamespace, element.typeName)
                            typed(&element, reference: derivation.attribute("base") ?? "", at: derivation, depth: depth)
                            (element.typeNamespace, element.typeName) = ownType
                        }
                    }
                    fill(&element, from: derivation, schema: schema, depth: depth)
                case "simpleContent":
                    let derivation = child.children().first { $0.name == "extension" || $0.name == "restriction" }
                    element.type = derivation?.attribute("base") ?? "xs:string"
                    if let derivation { element.attributes += derivation.children().flatMap { attributes($0, schema: schema) } }
                default:
                    continue
                }
            }
        }

        /// The elements a model group holds, choices numbered as groups.
        private mutating func particles(_ group: XMLElement, schema: Schema, depth: Int, choiceGroup: Int? = nil) -> [SchemaElement] {
            let (minimum, maximum) = Self.occurs(group)
            switch group.name {
            case "group":
                guard let reference = group.attribute("ref").map({ group.resolve($0) }),
                    let (definition, definitionSchema) = index.groups[Index.key(reference)],
                    let model = definition.children().first(where: { ["sequence", "all", "choice"].contains($0.name) })
                else {
                    refuse("a model group is referenced but not declared" + index.failureNote)
                    return []
                }
                return particles(model, schema: definitionSchema, depth: depth, choiceGroup: choiceGroup)
            case "choice":
                if maximum != 1 { refuse("a repeated xs:choice") }
                if choiceGroup != nil { refuse("an xs:choice inside an xs:choice") }
                let number = nextChoiceGroup
                nextChoiceGroup += 1
                return group.children().flatMap { child -> [SchemaElement] in
                    if child.name == "sequence" || child.name == "group" {
                        refuse("an xs:sequence inside an xs:choice")
                        return []
                    }
                    return particle(child, schema: schema, depth: depth, choiceGroup: number).map { branch in
                        var branch = branch
                        if minimum == 0 { branch.minOccurs = 0 }
                        return branch
                    }
                }
            default:  // sequence, all
                if maximum != 1 { refuse("a repeated xs:\(group.name)") }
                return group.children().flatMap { child -> [SchemaElement] in
                    particle(child, schema: schema, depth: depth, choiceGroup: choiceGroup).map { element in
                        var element = element
                        if minimum == 0 { element.minOccurs = 0 }
                        return element
                    }
                }
            }
        }

        private mutating func particle(_ node: XMLElement, schema: Schema, depth: Int, choiceGroup: Int?) -> [SchemaElement] {
            switch node.name {
            case "element":
                var built = element(node, schema: schema, global: false, depth: depth)
                built.choiceGroup = choiceGroup
                return [built]
            case "any":
                let (minimum, maximum) = Self.occurs(node)
                return [SchemaElement(name: SchemaElement.anyName, namespace: nil, minOccurs: minimum, maxOccurs: maximum, choiceGroup: choiceGroup)]
            case "sequence", "choice", "all", "group":
                return particles(node, schema: schema, depth: depth, choiceGroup: choiceGroup)
            default:
                return []
            }
        }

        private mutating func attributes(_ node: XMLElement, schema: Schema) -> [SchemaAttribute] {
            switch node.name {
            case "attribute":
                if let reference = node.attribute("ref") {
                    let name = node.resolve(reference)
                    guard let (declaration, declarationSchema) = index.attributes[Index.key(name)] else {
                        // xml:lang and friends: nothing a caller sets.
                        if name.namespace != "http://www.w3.org/XML/1998/namespace" && name.namespace != WSDLParser.soapEncodingNamespace {
                            refuse("attribute \(name.name) is referenced but not declared" + index.failureNote)
                        }
                        return []
                    }
                    var attribute = Self.attribute(declaration, namespace: declarationSchema.targetNamespace)
                    attribute.required = node.attribute("use") == "required"
                    attribute.fixed = node.attribute("fixed") ?? attribute.fixed
                    attribute.defaultValue = node.attribute("default") ?? attribute.defaultValue
                    return [attribute]
                }
                let form = node.attribute("form").map { $0 == "qualified" } ?? schema.qualifiedAttributes
                return [Self.attribute(node, namespace: form ? schema.targetNamespace : nil)]
            case "attributeGroup":
                guard let reference = node.attribute("ref").map({ node.resolve($0) }),
                    let (group, groupSchema) = index.attributeGroups[Index.key(reference)]
                else {
                    refuse("an attribute group is referenced but not declared" + index.failureNote)
                    return []
                }
                return group.children().flatMap { attributes($0, schema: groupSchema) }
            default:
                return []
            }
        }

        private static func attribute(_ node: XMLElement, namespace: String?) -> SchemaAttribute {
            SchemaAttribute(
                name: node.attribute("name") ?? "", namespace: namespace, type: node.attribute("type") ?? "xs:string",
                required: node.attribute("use") == "required", fixed: node.attribute("fixed"), defaultValue: node.attribute("default"))
        }

        static func occurs(_ node: XMLElement) -> (Int, Int?) {
            let minimum = node.attribute("minOccurs").flatMap(Int.init) ?? 1
            let maximumText = node.attribute("maxOccurs")
            return (minimum, maximumText == "unbounded" ? nil : maximumText.flatMap(Int.init) ?? 1)
        }
    }
}

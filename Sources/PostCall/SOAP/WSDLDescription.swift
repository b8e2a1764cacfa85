import FoundationEssentials

/// What a WSDL 1.1 document (with the documents it imports) offers: its operations, the
/// elements each puts in the SOAP body and header, and how to call them.
public struct WSDLDescription: Codable, Sendable, Equatable {
    public var targetNamespace: String
    public var operations: [WSDLOperation]

    public func operation(named name: String) -> WSDLOperation? { operations.first { $0.name == name } }
}

/// How an operation's body is laid out.
public enum SOAPStyle: String, Sendable, Codable {
    case document, rpc
}

/// Whether parts are sent as the schema says (`literal`) or SOAP-encoded with `xsi:type`.
public enum SOAPUse: String, Sendable, Codable {
    case literal, encoded
}

/// One operation, merged over every binding that offers it.
public struct WSDLOperation: Codable, Sendable, Equatable {
    public var name: String
    public var style: SOAPStyle
    public var use: SOAPUse
    /// The SOAP body's elements: one wrapper (document/literal wrapped, and every rpc operation,
    /// whose wrapper is named after the operation and holds the parts), or one per part (bare).
    public var body: [SchemaElement]
    /// Whether the body is one wrapper whose children are the parameters.
    public var wrapped: Bool
    /// Elements the binding declares for the SOAP header.
    public var headers: [SchemaElement]
    public var bindings: [WSDLBinding]
    /// What postcall cannot build exactly in this operation; `nil` when it can build it all.
    public var unsupported: String?

    public init(
        name: String, style: SOAPStyle, use: SOAPUse = .literal, body: [SchemaElement], wrapped: Bool,
        headers: [SchemaElement] = [], bindings: [WSDLBinding] = [], unsupported: String? = nil
    ) {
        self.name = name
        self.style = style
        self.use = use
        self.body = body
        self.wrapped = wrapped
        self.headers = headers
        self.bindings = bindings
        self.unsupported = unsupported
    }

    /// Where `--param` paths start: the wrapper's children, or the body elements themselves.
    public var parameterRoots: [SchemaElement] { wrapped ? body.first?.children ?? [] : body }

    /// The SOAP versions the bindings offer, oldest first.
    public var versions: [SOAPVersion] { Array(Set(bindings.map(\.version))).sorted() }

    enum CodingKeys: String, CodingKey {
        case name, style, use, body, wrapped, headers, bindings, unsupported
        // Schema 4's stored form, read for webservices set before the element tree existed.
        case wrapper, namespace, parameters
        case qualifiedParameters = "qualified_parameters"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        style = try container.decode(SOAPStyle.self, forKey: .style)
        bindings = try container.decode([WSDLBinding].self, forKey: .bindings)
        use = try container.decodeIfPresent(SOAPUse.self, forKey: .use) ?? .literal
        headers = try container.decodeIfPresent([SchemaElement].self, forKey: .headers) ?? []
        unsupported = try container.decodeIfPresent(String.self, forKey: .unsupported)
        if let body = try container.decodeIfPresent([SchemaElement].self, forKey: .body) {
            self.body = body
            wrapped = try container.decode(Bool.self, forKey: .wrapped)
            return
        }
        struct OldParameter: Decodable {
            var name: String
            var type: String
            var required: Bool
        }
        let namespace = try container.decode(String.self, forKey: .namespace)
        let qualified = try container.decodeIfPresent(Bool.self, forKey: .qualifiedParameters) ?? true
        let parameters = try container.decode([OldParameter].self, forKey: .parameters).map {
            SchemaElement(name: $0.name, namespace: qualified ? namespace : nil, type: $0.type, minOccurs: $0.required ? 1 : 0)
        }
        if let wrapper = try container.decodeIfPresent(String.self, forKey: .wrapper) {
            body = [SchemaElement(name: wrapper, namespace: namespace, children: parameters)]
            wrapped = true
        } else {
            body = parameters
            wrapped = false
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(style, forKey: .style)
        try container.encode(use, forKey: .use)
        try container.encode(body, forKey: .body)
        try container.encode(wrapped, forKey: .wrapped)
        try container.encode(headers, forKey: .headers)
        try container.encode(bindings, forKey: .bindings)
        try container.encodeIfPresent(unsupported, forKey: .unsupported)
    }
}

/// An element a SOAP message may carry, as its schema declares it.
public struct SchemaElement: Codable, Sendable, Equatable {
    /// The name ``anyName`` stands for `xs:any`: content given as an XML template.
    public static let anyName = "(any)"

    public var name: String
    /// `nil` for an unqualified (local, `form="unqualified"`) element.
    public var namespace: String?
    /// A simple content's type as written (`xs:string`), `nil` for a structure.
    public var type: String?
    /// The type's qualified name, for `xsi:type` in rpc/encoded messages.
    public var typeNamespace: String?
    public var typeName: String?
    public var minOccurs: Int
    /// `nil`: unbounded.
    public var maxOccurs: Int?
    /// Child elements of a structure, in schema order.
    public var children: [SchemaElement]
    /// Children with the same group number are the branches of one `xs:choice`.
    public var choiceGroup: Int?
    public var attributes: [SchemaAttribute]
    /// The type refers to itself further down: its children are not expanded again.
    public var recursive: Bool

    public init(
        name: String, namespace: String?, type: String? = nil, typeNamespace: String? = nil, typeName: String? = nil,
        minOccurs: Int = 1, maxOccurs: Int? = 1, children: [SchemaElement] = [], choiceGroup: Int? = nil,
        attributes: [SchemaAttribute] = [], recursive: Bool = false
    ) {
        self.name = name
        self.namespace = namespace
        self.type = type
        self.typeNamespace = typeNamespace
        self.typeName = typeName
        self.minOccurs = minOccurs
        self.maxOccurs = maxOccurs
        self.children = children
        self.choiceGroup = choiceGroup
        self.attributes = attributes
        self.recursive = recursive
    }

    /// An `xs:any` wildcard, filled from an XML template.
    public var isAny: Bool { name == Self.anyName }
    public var isRepeated: Bool { maxOccurs.map { $0 > 1 } ?? true }
    public var isStructure: Bool { !children.isEmpty || recursive }
    /// Whether it holds a value itself (simple content), rather than elements or nothing.
    public var takesValue: Bool { type != nil && !isStructure && !isAny }

    enum CodingKeys: String, CodingKey {
        case name, namespace, type, children, attributes, recursive
        case typeNamespace = "type_namespace"
        case typeName = "type_name"
        case minOccurs = "min_occurs"
        case maxOccurs = "max_occurs"
        case choiceGroup = "choice_group"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        namespace = try container.decodeIfPresent(String.self, forKey: .namespace)
        type = try container.decodeIfPresent(String.self, forKey: .type)
        typeNamespace = try container.decodeIfPresent(String.self, forKey: .typeNamespace)
        typeName = try container.decodeIfPresent(String.self, forKey: .typeName)
        minOccurs = try container.decodeIfPresent(Int.self, forKey: .minOccurs) ?? 1
        maxOccurs = try container.decodeIfPresent(Int.self, forKey: .maxOccurs)
        children = try container.decodeIfPresent([SchemaElement].self, forKey: .children) ?? []
        choiceGroup = try container.decodeIfPresent(Int.self, forKey: .choiceGroup)
        attributes = try container.decodeIfPresent([SchemaAttribute].self, forKey: .attributes) ?? []
        recursive = try container.decodeIfPresent(Bool.self, forKey: .recursive) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encodeIfPresent(namespace, forKey: .namespace)
        try container.encodeIfPresent(type, forKey: .type)
        try container.encodeIfPresent(typeNamespace, forKey: .typeNamespace)
        try container.encodeIfPresent(typeName, forKey: .typeName)
        try container.encode(minOccurs, forKey: .minOccurs)
        // Always written, so `null` says unbounded rather than "one".
        try container.encode(maxOccurs, forKey: .maxOccurs)
        if !children.isEmpty { try container.encode(children, forKey: .children) }
        try container.encodeIfPresent(choiceGroup, forKey: .choiceGroup)
        if !attributes.isEmpty { try container.encode(attributes, forKey: .attributes) }
        if recursive { try container.encode(recursive, forKey: .recursive) }
    }
}

/// An attribute a schema declares on an element.
public struct SchemaAttribute: Codable, Sendable, Equatable {
    public var name: String
    /// `nil` for an unqualified attribute (the usual case).
    public var namespace: String?
    public var type: String
    public var required: Bool
    /// Sent always with this value.
    public var fixed: String?
    public var defaultValue: String?

    enum CodingKeys: String, CodingKey {
        case name, namespace, type, required, fixed
        case defaultValue = "default"
    }
}

public struct WSDLBinding: Codable, Sendable, Equatable {
    public var version: SOAPVersion
    public var soapAction: String
    /// The port's address: where requests go.
    public var endpoint: String

    enum CodingKeys: String, CodingKey {
        case version, endpoint
        case soapAction = "soap_action"
    }
}

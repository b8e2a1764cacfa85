/// What a WSDL 1.1 document offers: its operations, their input parameters and how to call them.
public struct WSDLDescription: Codable, Sendable, Equatable {
    public var targetNamespace: String
    public var operations: [WSDLOperation]

    public func operation(named name: String) -> WSDLOperation? { operations.first { $0.name == name } }
}

/// How an operation's body is laid out.
public enum SOAPStyle: String, Sendable, Codable {
    case document, rpc
}

/// One operation, merged over every binding that offers it.
public struct WSDLOperation: Codable, Sendable, Equatable {
    public var name: String
    public var style: SOAPStyle
    /// The element that wraps the parameters in the SOAP body (the document/literal wrapper
    /// element, or the operation for rpc); `nil` for document/literal bare, where each parameter
    /// is its own body element.
    public var wrapper: String?
    /// The namespace of the wrapper (or of the bare parameter elements).
    public var namespace: String
    /// Whether the parameter elements are namespace-qualified (schema `elementFormDefault`).
    public var qualifiedParameters: Bool
    public var parameters: [WSDLParameter]
    public var bindings: [WSDLBinding]

    enum CodingKeys: String, CodingKey {
        case name, style, wrapper, namespace, parameters, bindings
        case qualifiedParameters = "qualified_parameters"
    }

    /// The SOAP versions the bindings offer, oldest first.
    public var versions: [SOAPVersion] { Array(Set(bindings.map(\.version))).sorted() }
}

public struct WSDLParameter: Codable, Sendable, Equatable {
    public var name: String
    /// The XML Schema type as written, e.g. `xsd:string`, or `complex` for a nested structure.
    public var type: String
    public var required: Bool
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

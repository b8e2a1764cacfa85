/// A SOAP envelope version.
public enum SOAPVersion: String, Sendable, Codable, CaseIterable, Comparable {
    case soap11 = "1.1"
    case soap12 = "1.2"

    public static func < (lhs: SOAPVersion, rhs: SOAPVersion) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What a SOAP webservice was configured with and learned from its WSDL.
public struct SOAPBinding: Sendable, Equatable {
    public var wsdl: String
    /// The operation, as the WSDL describes it.
    public var operation: WSDLOperation
    public var version: SOAPVersion
    public var soapAction: String

    public init(wsdl: String, operation: WSDLOperation, version: SOAPVersion, soapAction: String) {
        self.wsdl = wsdl
        self.operation = operation
        self.version = version
        self.soapAction = soapAction
    }

    /// Picks `operationName` and `version` from a WSDL, checking that both exist; the endpoint
    /// is the binding's address unless `url` is given.
    public static func resolve(
        wsdl: String, description: WSDLDescription, operationName: String, version: SOAPVersion?
    ) throws -> (binding: SOAPBinding, endpoint: String) {
        guard let operation = description.operation(named: operationName) else {
            let known = description.operations.map(\.name).joined(separator: ", ")
            throw PostCallError(.invalidInput, "WSDL \(wsdl) has no operation \(operationName); it offers: \(known)")
        }
        let chosen = version ?? (operation.versions.contains(.soap11) ? .soap11 : operation.versions.first ?? .soap11)
        guard let bound = operation.bindings.first(where: { $0.version == chosen }) else {
            throw PostCallError(
                .invalidInput,
                "operation \(operationName) in \(wsdl) has no SOAP \(chosen.rawValue) binding; it offers SOAP \(operation.versions.map(\.rawValue).joined(separator: ", "))")
        }
        return (SOAPBinding(wsdl: wsdl, operation: operation, version: chosen, soapAction: bound.soapAction), bound.endpoint)
    }
}

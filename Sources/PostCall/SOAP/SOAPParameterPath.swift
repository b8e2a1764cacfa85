/// Where a `--param` (or `--header-param`) value goes in a SOAP message: a path of element names
/// from the operation's parameters (`CallId`, `Address.City`, `Items.Item[1].Sku`), optionally
/// ending in an attribute (`Order@version`), or `(any)` for an `xs:any` wildcard's XML.
public struct SOAPParameterPath: Hashable, Sendable, CustomStringConvertible {
    public struct Step: Hashable, Sendable {
        public var name: String
        /// The repetition, 0-based (`Item[1]` is the second `Item`).
        public var index: Int
    }

    public var steps: [Step]
    /// An attribute of the last step's element (or of the wrapper, when there are no steps).
    public var attribute: String?

    public init(parsing text: String) throws {
        var body = Substring(text)
        if let at = body.lastIndex(of: "@") {
            attribute = String(body[body.index(after: at)...])
            body = body[..<at]
            guard let attribute, !attribute.isEmpty, !attribute.contains(".") else {
                throw PostCallError(.invalidInput, "parameter \(text.debugDescription): an attribute is written Element@name, last")
            }
        }
        steps = try body.isEmpty ? [] : body.split(separator: ".", omittingEmptySubsequences: false).map { component in
            guard let open = component.firstIndex(of: "[") else {
                guard !component.isEmpty, !component.contains("]") else {
                    throw PostCallError(.invalidInput, "parameter \(text.debugDescription) has an empty or malformed step")
                }
                return Step(name: String(component), index: 0)
            }
            guard component.hasSuffix("]"), open != component.startIndex,
                let index = Int(component[component.index(after: open)..<component.index(before: component.endIndex)]), index >= 0
            else {
                throw PostCallError(.invalidInput, "parameter \(text.debugDescription): a repetition is written Name[0], Name[1], ...")
            }
            return Step(name: String(component[..<open]), index: index)
        }
        guard !steps.isEmpty || attribute != nil else {
            throw PostCallError(.invalidInput, "parameter \(text.debugDescription) names no element")
        }
    }

    public var description: String {
        steps.map { $0.index == 0 ? $0.name : "\($0.name)[\($0.index)]" }.joined(separator: ".") + (attribute.map { "@" + $0 } ?? "")
    }
}

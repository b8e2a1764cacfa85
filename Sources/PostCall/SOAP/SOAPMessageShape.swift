/// Checks `--param` paths against an operation's element tree when a webservice is set, so a
/// mistake is reported to whoever typed it: an unknown element, a value for a structure, two
/// branches of one choice, a missing required element or attribute, XML for `xs:any` that is not
/// well-formed.
struct SOAPMessageShape {
    let operationName: String
    /// The elements paths start from.
    let roots: [SchemaElement]
    /// For a wrapped body, the wrapper (its attributes take `@name` paths).
    let wrapper: SchemaElement?

    /// Checks every path; returns them parsed, in the order given.
    func check(_ names: [String], option: String) throws -> [SOAPParameterPath] {
        let paths = try names.map { try SOAPParameterPath(parsing: $0) }
        for path in paths { try locate(path, option: option) }
        let given = Set(paths)
        try checkRequired(roots, under: [], given: given, option: option)
        if let wrapper { try checkAttributes(of: wrapper, at: [], given: given, option: option) }
        return paths
    }

    /// The element (and attribute) a path names, or an error listing what that level offers.
    private func locate(_ path: SOAPParameterPath, option: String) throws {
        var level = roots
        var element: SchemaElement? = wrapper
        for (position, step) in path.steps.enumerated() {
            guard let found = level.first(where: { $0.name == step.name }) else {
                let offered = level.map(\.name).joined(separator: ", ")
                let place = position == 0 ? "" : " under \(path.steps[..<position].map(\.name).joined(separator: "."))"
                throw PostCallError(
                    .invalidInput,
                    "operation \(operationName) has no parameter \(path)\(place.isEmpty ? "" : ";\(place)"); it takes \(offered.isEmpty ? "nothing" : offered)")
            }
            if let maximum = found.maxOccurs, step.index >= maximum {
                throw PostCallError(.invalidInput, "\(option) \(path): \(found.name) occurs at most \(maximum) time(s)")
            }
            if found.recursive, position < path.steps.count - 1 {
                throw PostCallError(.invalidInput, "\(option) \(path): \(found.name) refers to its own type; postcall does not expand it further")
            }
            element = found
            level = found.children
        }
        if let attribute = path.attribute {
            guard let owner = element, let declared = owner.attributes.first(where: { $0.name == attribute }) else {
                throw PostCallError(.invalidInput, "\(option) \(path): no attribute \(attribute) is declared there")
            }
            if declared.fixed != nil {
                throw PostCallError(.invalidInput, "\(option) \(path): the attribute is fixed by the schema and sent as it says")
            }
            return
        }
        guard let leaf = element, !leaf.takesValue, !leaf.isAny else { return }
        if leaf.isStructure {
            let fields = leaf.children.map { "\(path).\($0.name)" }.prefix(5).joined(separator: ", ")
            throw PostCallError(.invalidInput, "\(option) \(path) is a structure; set its fields instead (\(fields))")
        }
        let attributes = leaf.attributes.map { "\(path)@\($0.name)" }.joined(separator: ", ")
        throw PostCallError(
            .invalidInput, "\(option) \(path) has no content of its own" + (attributes.isEmpty ? "" : "; set its attributes (\(attributes))"))
    }

    /// Required elements need a value, or (structures) values below them; in a choice, one
    /// branch at most, and one when the choice is required.
    private func checkRequired(_ level: [SchemaElement], under prefix: [String], given: Set<SOAPParameterPath>, option: String) throws {
        var groups: [Int: [SchemaElement]] = [:]
        for element in level {
            let path = prefix + [element.name]
            let touched = given.contains { $0.steps.count >= path.count && $0.steps.prefix(path.count).map(\.name) == path }
            if let group = element.choiceGroup {
                groups[group, default: []].append(element)
                if touched { try checkInside(element, path: path, given: given, option: option) }
                continue
            }
            guard touched || element.minOccurs >= 1 else { continue }
            if element.takesValue || element.isAny {
                guard touched else {
                    throw PostCallError(
                        .invalidInput,
                        "operation \(operationName) requires parameter \(path.joined(separator: ".")); add \(option) \(path.joined(separator: "."))=...")
                }
                continue
            }
            try checkInside(element, path: path, given: given, option: option)
        }
        for branches in groups.values {
            let chosen = branches.filter { branch in
                given.contains { $0.steps.count > prefix.count && $0.steps[prefix.count].name == branch.name
                    && $0.steps.prefix(prefix.count).map(\.name) == prefix }
            }
            if chosen.count > 1 {
                throw PostCallError(
                    .invalidInput,
                    "\(option): \(chosen.map(\.name).joined(separator: " and ")) are alternatives of one xs:choice; give only one")
            }
            if chosen.isEmpty, branches.allSatisfy({ $0.minOccurs >= 1 }) {
                let place = prefix.isEmpty ? "" : " in \(prefix.joined(separator: "."))"
                throw PostCallError(
                    .invalidInput,
                    "operation \(operationName) requires one of \(branches.map(\.name).joined(separator: ", "))\(place) (an xs:choice)")
            }
        }
    }

    private func checkInside(_ element: SchemaElement, path: [String], given: Set<SOAPParameterPath>, option: String) throws {
        try checkAttributes(of: element, at: path, given: given, option: option)
        if element.isStructure && !element.isAny { try checkRequired(element.children, under: path, given: given, option: option) }
    }

    private func checkAttributes(of element: SchemaElement, at path: [String], given: Set<SOAPParameterPath>, option: String) throws {
        for attribute in element.attributes where attribute.required && attribute.fixed == nil && attribute.defaultValue == nil {
            guard given.contains(where: { $0.attribute == attribute.name && $0.steps.map(\.name) == path }) else {
                let name = path.joined(separator: ".") + "@" + attribute.name
                throw PostCallError(
                    .invalidInput, "operation \(operationName) requires attribute \(name); add \(option) \(name)=...")
            }
        }
    }
}

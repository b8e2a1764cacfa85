import ArgumentParser
import FoundationEssentials
import PostCall

struct WSDLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wsdl",
        abstract: "List a WSDL's operations: their parameters as a tree, headers, SOAP versions, actions and endpoints.",
        discussion: """
            Parameter paths are what --param takes: Address.City for a field of a structure, \
            Items.Item[0].Sku for the first of a repeated element, Order@version for an attribute, \
            (any) for XML where the schema allows any element. Header paths go to --header-param. \
            An operation marked UNSUPPORTED uses something postcall cannot build exactly, and \
            `webservice set` refuses it.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @Argument(help: "The WSDL's URL (http, https) or file path.") var location: String
    @Option(help: "table or json.") var format: Format = .table

    func run() throws {
        let description = try WSDLFetcher.describe(location)
        if format == .json { return try printJSON(description) }
        for operation in description.operations {
            let shape = operation.style == .rpc ? "rpc/\(operation.use.rawValue)"
                : operation.wrapped ? "document/literal wrapped" : "document/literal bare"
            print("\(operation.name)  (\(shape); SOAP \(operation.versions.map(\.rawValue).joined(separator: ", ")))")
            if let unsupported = operation.unsupported { print("  UNSUPPORTED: \(unsupported)") }
            for binding in operation.bindings {
                print("  SOAP \(binding.version.rawValue): action \(binding.soapAction.isEmpty ? "(none)" : binding.soapAction.debugDescription), endpoint \(binding.endpoint)")
            }
            var table = TextTable(header: ["  PARAMETER", "TYPE", "OCCURS", "NOTE"])
            if operation.wrapped, let wrapper = operation.body.first { Self.listAttributes(of: wrapper, at: "", into: &table) }
            for element in operation.parameterRoots { Self.list(element, at: "", into: &table) }
            if table.rows.isEmpty { table.append(["  (none)", "", "", ""]) }
            print(table.render())
            if !operation.headers.isEmpty {
                var headers = TextTable(header: ["  HEADER PARAMETER", "TYPE", "OCCURS", "NOTE"])
                for element in operation.headers { Self.list(element, at: "", into: &headers) }
                print(headers.render())
            }
            print("")
        }
    }

    /// One row per element and attribute, paths as --param takes them.
    private static func list(_ element: SchemaElement, at prefix: String, into table: inout TextTable) {
        let path = prefix + element.name + (element.isRepeated ? "[]" : "")
        let occurs = "\(element.minOccurs)..\(element.maxOccurs.map(String.init) ?? "*")"
        var notes: [String] = []
        if let group = element.choiceGroup { notes.append("choice \(group)") }
        if element.recursive { notes.append("recursive, not expanded") }
        let type = element.isAny ? "XML" : element.isStructure ? "structure" : element.type ?? "empty"
        table.append(["  " + path, type, occurs, notes.joined(separator: ", ")])
        listAttributes(of: element, at: path, into: &table)
        for child in element.children { list(child, at: path + ".", into: &table) }
    }

    private static func listAttributes(of element: SchemaElement, at path: String, into table: inout TextTable) {
        for attribute in element.attributes {
            let note = attribute.fixed.map { "fixed \($0)" } ?? attribute.defaultValue.map { "default \($0)" } ?? ""
            table.append(["  \(path)@\(attribute.name)", attribute.type, attribute.required ? "1" : "0..1", note])
        }
    }
}

import ArgumentParser
import FoundationEssentials
import PostCall

struct WSDLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wsdl", abstract: "List a WSDL's operations, their parameters, SOAP versions, actions and endpoints.")

    @Argument(help: "The WSDL's URL (http, https) or file path.") var location: String
    @Option(help: "table or json.") var format: OutputFormat = .table

    func run() throws {
        let description = try WSDLFetcher.describe(location)
        if format == .json { return try printJSON(description) }
        if description.operations.isEmpty { print("no SOAP operations in \(location)") }
        for operation in description.operations {
            let shape = operation.style == .rpc ? "rpc" : operation.wrapper == nil ? "document/literal bare" : "document/literal wrapped"
            print("\(operation.name)  (\(shape); SOAP \(operation.versions.map(\.rawValue).joined(separator: ", ")))")
            for binding in operation.bindings {
                print("  SOAP \(binding.version.rawValue): action \(binding.soapAction.isEmpty ? "(none)" : binding.soapAction.debugDescription), endpoint \(binding.endpoint)")
            }
            var table = TextTable(header: ["  PARAMETER", "TYPE", "REQUIRED"])
            for parameter in operation.parameters {
                table.append(["  " + parameter.name, parameter.type, parameter.required ? "yes" : "no"])
            }
            if !operation.parameters.isEmpty { print(table.render()) }
            print("")
        }
    }
}

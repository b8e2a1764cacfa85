import Foundation
import XCTest

@testable import PostCall

/// postcall's SOAP envelopes against an oracle it did not write: zeep builds the message a
/// correct client sends for the same WSDL, operation and values, and `zeep_oracle.py` compares
/// the two as canonical XML (C14N 2.0, prefixes rewritten). The fixtures are modelled on the
/// public services issue 17 names.
final class SOAPOracleTests: XCTestCase {
    private var scratch: Scratch!
    private let fixtures = testsDirectory.appendingPathComponent("Fixtures/wsdl").path

    override func setUpWithError() throws { scratch = try Scratch() }
    override func tearDown() { scratch = nil }

    /// Serves a fixture folder the way WCF does (`?wsdl`, `?wsdl=wsdl0`, `?xsd=xsd0`).
    private func serve(_ folder: String) throws -> (server: Process, base: String) {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", testsDirectory.appendingPathComponent("Fixtures/wsdl_server.py").path,
                            "--folder", "\(fixtures)/\(folder)", "--lifetime", "300"]
        let output = Pipe()
        server.standardOutput = output
        try server.run()
        var line = ""
        while !line.hasSuffix("\n") {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            guard !byte.isEmpty else { break }
            line += String(decoding: byte, as: UTF8.self)
        }
        let port = try XCTUnwrap(Int(line.trimmingCharacters(in: .whitespacesAndNewlines)))
        return (server, "http://127.0.0.1:\(port)")
    }

    /// postcall's envelope for the operation with these `--param` and `--header-param` values.
    private func envelope(
        _ wsdl: String, _ operation: String, version: SOAPVersion? = nil, params: [(String, String)],
        headers: [(String, String)] = [], variables: [String: String] = [:]
    ) throws -> String {
        let (binding, endpoint) = try SOAPBinding.resolve(
            wsdl: wsdl, description: try WSDLFetcher.describe(wsdl), operationName: operation, version: version)
        var webservice = Webservice(
            name: "oracle", kind: .soap, url: endpoint, parameters: params.map { Webservice.Field(name: $0.0, value: $0.1) },
            soap: binding)
        webservice.soapHeaderParameters = headers.map { Webservice.Field(name: $0.0, value: $0.1) }
        let values = TemplateValues(
            variables: variables, callID: "call-1", reason: "hangup", eventID: 7, outboxID: "o", createdAt: 0, attempt: 1)
        let request = try RequestTemplate(webservice).render(values, eventID: 7)
        let path = scratch.path("envelope-\(UUID().uuidString).xml")
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(request.body ?? [])))
        return path
    }

    private func assertMatchesZeep(
        _ wsdl: String, _ operation: String, ours: String, values: String, headers: String? = nil, binding: String? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        var arguments = ["python3", testsDirectory.appendingPathComponent("Fixtures/zeep_oracle.py").path,
                         "--wsdl", wsdl, "--operation", operation, "--values", values, "--ours", ours]
        if let headers { arguments += ["--headers", headers] }
        if let binding { arguments += ["--binding", binding] }
        let result = try runProcess("/usr/bin/env", arguments)
        XCTAssertEqual(result.status, 0, "\(operation): \(result.stdout)\(result.stderr)", file: file, line: line)
    }

    // MARK: WCF split across documents

    func testWCFServiceSplitAcrossWSDLAndSchemaImports() throws {
        let (server, base) = try serve("wcf")
        defer { server.terminate() }
        let wsdl = "\(base)/Service.svc?wsdl"
        let description = try WSDLFetcher.describe(wsdl)
        XCTAssertEqual(description.operations.map(\.name), ["SubmitQuote", "RegisterCall"])

        let quote = try envelope(wsdl, "SubmitQuote", params: [
            ("callId", "{{call_id}}"), ("quote.Amount", "12.50"), ("quote.Currency", "{{currency}}"),
            ("quote.Lines.QuoteLine[0].Sku", "A-1"), ("quote.Lines.QuoteLine[0].Quantity", "2"),
            ("quote.Lines.QuoteLine[1].Sku", "B & <2>"),
        ], variables: ["currency": "EUR"])
        try assertMatchesZeep(wsdl, "SubmitQuote", ours: quote, values: """
            {"callId": "call-1", "quote": {"Amount": "12.50", "Currency": "EUR",
             "Lines": {"QuoteLine": [{"Sku": "A-1", "Quantity": 2}, {"Sku": "B & <2>"}]}}}
            """)

        // A message contract: element refs into the data contract's namespace, a header part.
        let register = try envelope(wsdl, "RegisterCall", params: [
            ("MarketCode", "NYSE"), ("Caller.Number", "+15551230000"), ("Started", "2026-11-26T12:00:00"),
        ], headers: [("TraceId", "trace-{{call_id}}")])
        try assertMatchesZeep(
            wsdl, "RegisterCall", ours: register,
            values: #"{"MarketCode": "NYSE", "Caller": {"Number": "+15551230000"}, "Started": "2026-11-26T12:00:00"}"#,
            headers: #"{"TraceId": "trace-call-1"}"#)
    }
}

extension SOAPOracleTests {
    /// An Exchange-like chain: WSDL → messages.xsd → types.xsd → base.xsd; a type extending one
    /// from the deepest schema; a header element with a required attribute; element-only attributes.
    func testAThreeLevelSchemaImportChain() throws {
        let wsdl = "\(fixtures)/chain/service.wsdl"
        let ours = try envelope(wsdl, "CreateNote", params: [
            ("@MessageDisposition", "SaveOnly"), ("SavedFolder@Id", "{{folder}}"),
            ("Items.Note[0].Subject", "Voicemail from {{ani}}"), ("Items.Note[0].Caller", "{{ani}}"),
            ("Items.Note[0].Transcript", "Call me <back> & soon"), ("Items.Note[1].Subject", "Second"),
            ("Items.Note[1].Caller", "+1"),
        ], headers: [("RequestServerVersion@Version", "Exchange2013")], variables: ["folder": "AAMk=", "ani": "+15551230000"])
        try assertMatchesZeep(wsdl, "CreateNote", ours: ours, values: """
            {"MessageDisposition": "SaveOnly", "SavedFolder": {"Id": "AAMk="},
             "Items": {"Note": [{"Subject": "Voicemail from +15551230000", "Caller": "+15551230000",
                                 "Transcript": "Call me <back> & soon"},
                                {"Subject": "Second", "Caller": "+1"}]}}
            """, headers: #"{"RequestVersion": {"Version": "Exchange2013"}}"#)  // zeep names headers by part
    }
}

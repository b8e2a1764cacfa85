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
    private func serve(_ folder: String) throws -> TestHTTPServer {
        try TestHTTPServer(scratch: scratch, script: "wsdl_server.py", arguments: ["--folder", "\(fixtures)/\(folder)"])
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
        let server = try serve("wcf")
        let wsdl = "\(server.baseURL)/Service.svc?wsdl"
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

extension SOAPOracleTests {
    /// Nested and repeated structures, xs:all, one branch of an xs:choice, required, fixed and
    /// defaulted attributes, optional elements left out, a Salesforce-style session header.
    func testStructuresChoicesAttributesAndAHeader() throws {
        let wsdl = "\(fixtures)/structures.wsdl"
        let ours = try envelope(wsdl, "SubmitOrder", params: [
            ("Order@currency", "USD"), ("Order.Customer.Name", "{{name}}"), ("Order.Customer.Address.City", "Zürich"),
            ("Order.Items.Item[0].Sku", "VM-1"), ("Order.Items.Item[0].Quantity", "1"),
            ("Order.Items.Item[1].Sku", "VM-2"), ("Order.Items.Item[1].Quantity", "3"),
            ("Order.Options.Express", "true"), ("Order.Phone", "{{ani}}"),
        ], headers: [("SessionHeader.sessionId", "{{token}}")],
        variables: ["name": "Ann <O'Neil>", "ani": "+15551230000", "token": "00D!AQ"])
        try assertMatchesZeep(wsdl, "SubmitOrder", ours: ours, values: """
            {"Order": {"currency": "USD", "version": "1.3",
                       "Customer": {"Name": "Ann <O'Neil>", "Address": {"City": "Zürich"}},
                       "Items": {"Item": [{"Sku": "VM-1", "Quantity": 1}, {"Sku": "VM-2", "Quantity": 3}]},
                       "Options": {"Express": true}, "Phone": "+15551230000"}}
            """, headers: #"{"SessionHeader": {"sessionId": "00D!AQ"}}"#)
    }

    /// An xs:any payload from an XML template: variables XML-escaped inside, the template's own
    /// markup inserted as elements.
    func testAnAnyPayloadFromAnXMLTemplate() throws {
        let wsdl = "\(fixtures)/structures.wsdl"
        let ours = try envelope(wsdl, "SendDocument", params: [
            ("Reference", "r-{{call_id}}"),
            ("(any)", #"<doc:Voicemail xmlns:doc="urn:example:docs" kind="vm"><doc:Caller>{{ani}}</doc:Caller></doc:Voicemail>"#),
        ], variables: ["ani": "+1555 & <co>"])
        try assertMatchesZeep(wsdl, "SendDocument", ours: ours, values: """
            {"Reference": "r-call-1", "_value_1": {"__xml__":
             "<doc:Voicemail xmlns:doc='urn:example:docs' kind='vm'><doc:Caller>+1555 &amp; &lt;co&gt;</doc:Caller></doc:Voicemail>"}}
            """)
    }

    /// What `webservice set` refuses, with a message that names the parameter and the rule.
    func testParameterPathsAreCheckedAgainstTheSchema() throws {
        let wsdl = "\(fixtures)/structures.wsdl"
        let complete: [(String, String)] = [
            ("Order@currency", "USD"), ("Order.Customer.Name", "n"), ("Order.Items.Item[0].Sku", "s"),
            ("Order.Items.Item[0].Quantity", "1"), ("Order.Email", "e"),
        ]
        XCTAssertNoThrow(try envelope(wsdl, "SubmitOrder", params: complete))
        let cases: [([(String, String)], String)] = [
            (complete + [("Order.Phone", "p")], "Email and Phone are alternatives of one xs:choice"),
            (complete.filter { $0.0 != "Order.Email" }, "requires one of Email, Phone in Order"),
            (complete.filter { $0.0 != "Order@currency" }, "requires attribute Order@currency"),
            (complete + [("Order@version", "2")], "the attribute is fixed by the schema"),
            (complete + [("Order.Customer", "x")], "Order.Customer is a structure; set its fields"),
            (complete + [("Order.Colour", "red")], "has no parameter Order.Colour"),
            (complete.filter { $0.0 != "Order.Items.Item[0].Quantity" }, "requires parameter Order.Items.Item.Quantity"),
            (complete + [("Order.Customer.Address.Street", "s")], "requires parameter Order.Customer.Address.City"),
            (complete + [("Order.Items.Item[x].Sku", "s")], "a repetition is written Name[0]"),
        ]
        for (params, message) in cases {
            XCTAssertThrowsError(try envelope(wsdl, "SubmitOrder", params: params), message) { error in
                XCTAssertTrue("\(error)".contains(message), "\(error) should say \(message)")
            }
        }
        XCTAssertThrowsError(try envelope(wsdl, "SendDocument", params: [("Reference", "r"), ("(any)", "<a><b></a>")])) { error in
            XCTAssertTrue("\(error)".contains("must be well-formed XML"), "\(error)")
        }
    }
}

extension SOAPOracleTests {
    /// rpc/encoded (NuSOAP, Axis 1): the same elements as zeep builds, plus the `xsi:type` on
    /// every part and field that such servers need, and the encodingStyle; zeep writes neither, so
    /// the oracle leaves them out and this test checks them.
    func testRPCEncodedPartsCarryTheirTypes() throws {
        let wsdl = "\(fixtures)/rpc-encoded.wsdl"
        let ours = try envelope(wsdl, "storeMessage", params: [
            ("mailbox", "204"), ("seconds", "31"), ("caller.number", "{{ani}}"), ("caller.name", "Ann"),
        ], variables: ["ani": "+15551230000"])
        let result = try runProcess("/usr/bin/env", [
            "python3", testsDirectory.appendingPathComponent("Fixtures/zeep_oracle.py").path, "--wsdl", wsdl, "--operation",
            "storeMessage", "--ours", ours, "--ignore-encoding", "--values",
            #"{"mailbox": "204", "seconds": 31, "caller": {"number": "+15551230000", "name": "Ann"}}"#,
        ])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)

        let document = try XMLDocument(Array(try XCTUnwrap(FileManager.default.contents(atPath: ours))), source: "ours")
        let call = try XCTUnwrap(document.root?.child("Body")?.child("storeMessage"))
        XCTAssertEqual(call.attribute("encodingStyle"), "http://schemas.xmlsoap.org/soap/encoding/")
        func type(_ element: XMLElement?) -> (String?, String)? {
            guard let element, let value = element.attribute("type") else { return nil }
            return element.resolve(value)
        }
        let xsd = "http://www.w3.org/2001/XMLSchema"
        XCTAssertEqual(type(call.child("mailbox"))?.0, xsd)
        XCTAssertEqual(type(call.child("mailbox"))?.1, "string")
        XCTAssertEqual(type(call.child("seconds"))?.1, "int")
        XCTAssertEqual(type(call.child("caller"))?.0, "urn:voicemailbox")
        XCTAssertEqual(type(call.child("caller"))?.1, "Caller")
        XCTAssertEqual(type(call.child("caller")?.child("number"))?.1, "string")
    }

    /// What postcall cannot build exactly is listed as such and refused, never sent wrongly.
    func testUnsupportedConstructsAreListedAndRefused() throws {
        let wsdl = "\(fixtures)/rpc-encoded-array.wsdl"
        let operation = try XCTUnwrap(try WSDLFetcher.describe(wsdl).operation(named: "tagMessage"))
        XCTAssertEqual(operation.unsupported, "tags is a SOAP-encoded array, which postcall does not build")
        XCTAssertThrowsError(try envelope(wsdl, "tagMessage", params: [("mailbox", "1")])) { error in
            XCTAssertTrue("\(error)".contains("uses what postcall cannot build exactly: tags is a SOAP-encoded array"), "\(error)")
        }
        let listed = try postcall(["wsdl", wsdl])
        XCTAssertTrue(listed.stdout.contains("UNSUPPORTED: tags is a SOAP-encoded array"), listed.stdout)
        XCTAssertEqual(try postcall(["wsdl", wsdl, "--format", "csv"]).status, 2, "csv is not a format of wsdl")
    }
}

extension SOAPOracleTests {
    /// WS-Security UsernameToken, as text and as a digest (nonce and time fixed here; each request
    /// draws a fresh nonce), against zeep's own UsernameToken.
    func testWSSecurityUsernameTokenTextAndDigest() throws {
        let wsdl = "\(fixtures)/structures.wsdl"
        let description = try WSDLFetcher.describe(wsdl)
        let operation = try XCTUnwrap(description.operation(named: "SendDocument"))
        let nonce: [UInt8] = Array("0123456789abcdef".utf8)
        for digest in [false, true] {
            let security = WSSecurity(username: "ivr-user", password: "p@ss <word>", digest: digest)
            let bytes = try SOAPEnvelope.build(
                version: .soap11, operation: operation,
                body: [(try SOAPParameterPath(parsing: "Reference"), "r"), (try SOAPParameterPath(parsing: "(any)"), "<x/>")],
                security: { try security.write(into: $0, of: $1, nonce: nonce, created: "2026-11-26T12:00:00Z") })
            let ours = scratch.path("wsse-\(digest).xml")
            XCTAssertTrue(FileManager.default.createFile(atPath: ours, contents: Data(bytes)))
            let token = """
                {"username": "ivr-user", "password": "p@ss <word>", "digest": \(digest), "nonce": "\(Data(nonce).base64EncodedString())",
                 "created": "2026-11-26T12:00:00Z"}
                """
            let result = try runProcess("/usr/bin/env", [
                "python3", testsDirectory.appendingPathComponent("Fixtures/zeep_oracle.py").path, "--wsdl", wsdl, "--operation",
                "SendDocument", "--ours", ours, "--wsse", token, "--values", #"{"Reference": "r", "_value_1": {"__xml__": "<x/>"}}"#,
            ])
            XCTAssertEqual(result.status, 0, "digest \(digest): " + result.stdout + result.stderr)
        }
    }
}

extension SOAPOracleTests {
    /// A document whose operations cannot be read is an error naming why, never an exit 0 with
    /// nothing listed (WCF's root document without its ?wsdl=wsdl0 import).
    func testAWSDLWhoseImportsCannotBeFetchedIsAnErrorNotAnEmptyList() throws {
        let listed = try postcall(["wsdl", "\(fixtures)/wcf/service.wsdl"])
        XCTAssertNotEqual(listed.status, 0, listed.stdout)
        XCTAssertTrue(listed.stderr.contains("no SOAP binding postcall could read; could not fetch"), listed.stderr)
    }

    /// `webservice set` from the command line: a relative WSDL path stored absolute, header
    /// parameters, a UsernameToken password read from standard input and never shown.
    func testSettingHeadersAndWSSecurityFromTheCommandLine() throws {
        let database = scratch.databasePath
        let set = try runProcess("/bin/sh", ["-c", """
            cd \(fixtures) && printf 's3cret\\n' | \(postcallExecutable.path) webservice set orders --db \(database) \
              --wsdl structures.wsdl --operation SubmitOrder --param 'Order@currency=USD' --param 'Order.Customer.Name={{name}}' \
              --param 'Order.Items.Item[0].Sku=A' --param 'Order.Items.Item[0].Quantity=1' --param 'Order.Email={{email}}' \
              --header-param 'SessionHeader.sessionId={{token}}' --wss-username ivr --wss-password-file - --wss-digest
            """])
        XCTAssertEqual(set.status, 0, set.stderr)
        let stored = try XCTUnwrap(try OutboxStore(path: database).webservice(named: "orders"))
        XCTAssertEqual(stored.soap?.wsdl, "\(fixtures)/structures.wsdl")
        XCTAssertEqual(stored.wsSecurity, WSSecurity(username: "ivr", password: "s3cret", digest: true))
        XCTAssertEqual(stored.soapHeaderParameters.map(\.name), ["SessionHeader.sessionId"])
        let shown = try postcall(["webservice", "show", "orders", "--db", database])
        XCTAssertTrue(shown.stdout.contains("ws-security:   UsernameToken ivr, password **** as digest"), shown.stdout)
        XCTAssertFalse(shown.stdout.contains("s3cret"))
        let refused = try postcall(["webservice", "set", "orders", "--db", database, "--header-param", "Session.id=x"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("has no parameter Session.id"), refused.stderr)
    }
}

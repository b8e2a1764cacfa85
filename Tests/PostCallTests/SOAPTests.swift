import Foundation
import XCTest

@testable import PostCall

/// WSDL fixtures in the shapes of real services, envelopes and faults.
final class WSDLTests: XCTestCase {
    private let fixtures = testsDirectory.appendingPathComponent("Fixtures/wsdl").path

    private func describe(_ file: String) throws -> WSDLDescription { try WSDLFetcher.describe("\(fixtures)/\(file)") }

    func testDotNetDocumentLiteralWrappedWithBothSOAPVersions() throws {
        let description = try describe("dotnet-wrapped.wsdl")
        XCTAssertEqual(description.operations.map(\.name), ["SaveSurvey"], "the HTTP GET binding is not SOAP")
        let operation = try XCTUnwrap(description.operation(named: "SaveSurvey"))
        XCTAssertEqual(operation.style, .document)
        XCTAssertTrue(operation.wrapped)
        XCTAssertEqual(operation.body.map(\.name), ["SaveSurvey"])
        XCTAssertEqual(operation.body.first?.namespace, "http://crm.example.com/survey")
        XCTAssertEqual(operation.parameterRoots.map(\.name), ["CallId", "Score", "Comment"])
        XCTAssertEqual(operation.parameterRoots.map(\.namespace), Array(repeating: "http://crm.example.com/survey", count: 3), "elementFormDefault=qualified")
        XCTAssertEqual(operation.parameterRoots.map(\.minOccurs), [0, 1, 0])
        XCTAssertEqual(operation.parameterRoots.map(\.type), ["s:string", "s:int", "s:string"])
        XCTAssertEqual(operation.versions, [.soap11, .soap12])
        XCTAssertEqual(Set(operation.bindings.map(\.soapAction)), ["http://crm.example.com/survey/SaveSurvey"])
        XCTAssertEqual(Set(operation.bindings.map(\.endpoint)), ["https://crm.example.com/SurveyService.asmx"])
    }

    /// Headers the envelope sets itself give way to ours whatever their case; the others stay.
    func testConfiguredHeadersTheEnvelopeSetsGiveWayToOurs() throws {
        let (binding, endpoint) = try SOAPBinding.resolve(
            wsdl: "dotnet-wrapped.wsdl", description: try describe("dotnet-wrapped.wsdl"), operationName: "SaveSurvey", version: .soap11)
        let webservice = Webservice(
            name: "s", kind: .soap, url: endpoint,
            headers: [
                .init(name: "content-TYPE", value: "text/plain"), .init(name: "X-Trace", value: "t-{{call_id}}"),
                .init(name: "soapaction", value: "\"Other\""), .init(name: "Idempotency-Key", value: "mine"),
            ],
            parameters: [.init(name: "Score", value: "{{score}}")], soap: binding)
        let values = try TemplateValues(
            variablesJSON: #"{"score":4}"#, callID: "call-1", reason: "hangup", eventID: 7, outboxID: "0123abcd", createdAt: 0, attempt: 1)
        let request = try RequestTemplate(webservice).render(values, eventID: 7)
        XCTAssertEqual(request.headers.map(\.name), ["X-Trace", "Content-Type", "SOAPAction", "Idempotency-Key"])
        XCTAssertEqual(
            request.headers.map(\.value),
            ["t-call-1", "text/xml; charset=utf-8", "\"http://crm.example.com/survey/SaveSurvey\"", "0123abcd-7"])
    }

    func testRPCStyle() throws {
        let operation = try XCTUnwrap(try describe("rpc-literal.wsdl").operation(named: "notify"))
        XCTAssertEqual(operation.style, .rpc)
        XCTAssertEqual(operation.body.map(\.name), ["notify"])
        XCTAssertEqual(operation.body.first?.namespace, "urn:voicemail", "rpc bodies use soap:body's namespace")
        XCTAssertEqual(operation.parameterRoots.map(\.namespace), [nil, nil, nil], "rpc parts are unqualified")
        XCTAssertEqual(operation.parameterRoots.map(\.name), ["mailbox", "callerId", "durationSeconds"])
        XCTAssertEqual(operation.bindings, [WSDLBinding(version: .soap11, soapAction: "urn:voicemail#notify", endpoint: "http://pbx.example.net/voicemail/soap")])
    }

    func testDocumentLiteralBareWithAnImportedSchema() throws {
        let operation = try XCTUnwrap(try describe("imported-bare.wsdl").operation(named: "RecordCall"))
        XCTAssertFalse(operation.wrapped)
        XCTAssertEqual(operation.body.first?.namespace, "http://ivr.example.org/data")
        XCTAssertEqual(operation.parameterRoots.map(\.name), ["CallReference"])
        XCTAssertEqual(operation.versions, [.soap12])
    }

    func testBadWSDLsGetClearErrors() throws {
        XCTAssertThrowsError(try WSDLParser().parse(Array("<definitions".utf8), source: "x.wsdl")) { error in
            XCTAssertTrue("\(error)".contains("x.wsdl is not well-formed XML"), "\(error)")
        }
        XCTAssertThrowsError(try WSDLParser().parse(Array("<html/>".utf8), source: "x.wsdl")) { error in
            XCTAssertTrue("\(error)".contains("not a WSDL 1.1 document"), "\(error)")
        }
        XCTAssertThrowsError(try WSDLFetcher.describe("/nonexistent/service.wsdl")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/service.wsdl"), "\(error)")
        }
        // No entity expansion and no network: an external entity stays unresolved, the file unread.
        let hostile = """
            <?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
            <definitions xmlns="http://schemas.xmlsoap.org/wsdl/" targetNamespace="&x;"/>
            """
        XCTAssertThrowsError(try WSDLParser().parse(Array(hostile.utf8), source: "hostile.wsdl")) { error in
            XCTAssertTrue("\(error)".contains("hostile.wsdl has a document type declaration"), "\(error)")
            XCTAssertFalse("\(error)".contains("root:"), "an external entity must never be expanded")
        }
    }

    /// Issue 11, item 11: internal entities nested in attributes grew quadratically when read
    /// (a 61 KB WSDL took 880 MiB). A document type declaration is refused before parsing.
    func testNestedInternalEntitiesAreRefusedBeforeAnyExpansion() throws {
        var entities = "<!ENTITY e0 \"\(String(repeating: "x", count: 1_000))\">"
        for level in 1..<40 { entities += "<!ENTITY e\(level) \"" + String(repeating: "&e\(level - 1);", count: 40) + "\">" }
        let wsdl = """
            <?xml version="1.0"?><!DOCTYPE definitions [\(entities)]>
            <definitions xmlns="http://schemas.xmlsoap.org/wsdl/" targetNamespace="urn:t">\
            <message name="&e39;"/></definitions>
            """
        XCTAssertThrowsError(try WSDLParser().parse(Array(wsdl.utf8), source: "amplified.wsdl")) { error in
            XCTAssertEqual((error as? PostCallError)?.code, .invalidInput)
            XCTAssertTrue("\(error)".contains("document type declaration"), "\(error)")
        }
        // A SOAP response with one is no SOAP envelope either.
        XCTAssertEqual(SOAPResponseCheck.judge(Array(wsdl.utf8)), .notSOAP)
    }

    func testEnvelopesEscapeByConstructionForEachShape() throws {
        let tricky = "<&\"'ü€>\r\n]]>\u{01}"
        let wrapped = try XCTUnwrap(try describe("dotnet-wrapped.wsdl").operation(named: "SaveSurvey"))
        let rpc = try XCTUnwrap(try describe("rpc-literal.wsdl").operation(named: "notify"))
        for (operation, version, parameter) in [(wrapped, SOAPVersion.soap11, "Comment"), (rpc, SOAPVersion.soap12, "mailbox")] {
            let bytes = try SOAPEnvelope.build(
                version: version, operation: operation, body: [(try SOAPParameterPath(parsing: parameter), tricky)])
            let document = try XMLDocument(bytes, source: "envelope")
            let root = try XCTUnwrap(document.root)
            XCTAssertEqual(root.namespace, version == .soap12 ? SOAPEnvelope.soap12Namespace : SOAPEnvelope.soap11Namespace)
            let call = try XCTUnwrap(root.child("Body")?.children().first)
            XCTAssertEqual(call.name, operation.body.first?.name)
            XCTAssertEqual(call.namespace, operation.body.first?.namespace)
            let value = try XCTUnwrap(call.child(parameter))
            XCTAssertEqual(value.namespace, operation.parameterRoots.first { $0.name == parameter }?.namespace)
            XCTAssertEqual(value.text, "<&\"'ü€>\r\n]]>\u{FFFD}", "the value comes back intact; a control character XML cannot carry is replaced")
        }
    }

    func testFaultsOfBothVersionsAreParsedAndClassified() {
        let soap11 = """
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
            <faultcode>s:Client</faultcode><faultstring>Invalid score</faultstring><detail><e>must be 1-5</e></detail>
            </s:Fault></s:Body></s:Envelope>
            """
        let soap12 = """
            <env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault>
            <env:Code><env:Value>env:Receiver</env:Value></env:Code><env:Reason><env:Text xml:lang="en">Try later</env:Text></env:Reason>
            </env:Fault></env:Body></env:Envelope>
            """
        func fault(_ text: String) -> SOAPFault? {
            if case .fault(let fault) = SOAPResponseCheck.judge(Array(text.utf8)) { return fault }
            return nil
        }
        let client = fault(soap11)
        XCTAssertEqual(client, SOAPFault(code: "Client", reason: "Invalid score", detail: "must be 1-5"))
        XCTAssertEqual(client?.isTransient, false)
        XCTAssertEqual(client?.failure.message(isPrivate: false), "soap fault Client: Invalid score (must be 1-5)")
        XCTAssertEqual(client?.failure.message(isPrivate: true), "soap fault Client")
        let receiver = fault(soap12)
        XCTAssertEqual(receiver?.code, "Receiver")
        XCTAssertEqual(receiver?.isTransient, true)
        XCTAssertEqual(SOAPResponseCheck.judge(Array("<html>busy</html>".utf8)), .notSOAP)
    }
}

/// Delivery to a real SOAP server that this project did not write (spyne), both SOAP versions.
final class SOAPDeliveryTests: EndToEndTestCase {
    private var soap: TestHTTPServer!

    override func prepareServers() throws {
        soap = try TestHTTPServer(scratch: scratch, script: "soap_server.py")
    }

    override func tearDown() {
        soap = nil
        super.tearDown()
    }

    private func wsdl(_ version: String) -> String { "http://127.0.0.1:\(soap.port)/soap\(version == "1.2" ? "12" : "11")?wsdl" }

    func testBothVersionsDeliverEveryParameterIntactAndFaultsAreClassified() throws {
        try onEachBackend {
            let tricky = "<b>&amp; \"quoted\" 'single' ü€ <![CDATA[x]]>"
            for version in ["1.1", "1.2"] {
                try set(["survey\(version)", "--type", "soap", "--wsdl", wsdl(version), "--operation", "SubmitSurvey",
                         "--soap-version", version, "--param", "callId={{call_id}}", "--param", "answer={{answer}}",
                         "--param", "score={{score}}"])
            }
            try set(["client-fault", "--wsdl", wsdl("1.2"), "--operation", "FailClient", "--soap-version", "1.2", "--param", "callId={{call_id}}"])
            try set(["server-fault", "--wsdl", wsdl("1.1"), "--operation", "FailServer", "--param", "callId={{call_id}}",
                     "--max-attempts", "2", "--max-age", "0"])
            let variables = String(decoding: try JSONSerialization.data(withJSONObject: ["answer": tricky, "score": 4]), as: UTF8.self)
            let delivered = try ["1.1", "1.2"].map {
                try store.enqueue(webservice: "survey\($0)", callID: "call-\($0)", variablesJSON: variables)
            }
            let clientFault = try store.enqueue(webservice: "client-fault", callID: "c")
            let serverFault = try store.enqueue(webservice: "server-fault", callID: "s")
            let worker = try WorkerProcess(
                database: db, logPath: scratch.path("worker.log"), arguments: ["--retry-first-delay", "100ms"])
            let events = try waitForFinalStates(store, ids: delivered + [clientFault, serverFault])
            XCTAssertEqual(worker.stop(), 0, worker.output)

            for id in delivered { XCTAssertEqual(events[id]?.state, .delivered, "\(String(describing: events[id]?.lastError))") }
            let received = try soap.logEntries()
            XCTAssertEqual(received.count, 2)
            for entry in received {
                XCTAssertEqual(entry["answer"] as? String, tricky, "the server must decode exactly what the IVR stored")
                XCTAssertEqual(entry["score"] as? Int, 4)
            }
            let soap11 = try XCTUnwrap(received.first { $0["callId"] as? String == "call-1.1" })
            XCTAssertEqual(soap11["contentType"] as? String, "text/xml; charset=utf-8")
            XCTAssertEqual(soap11["soapAction"] as? String, "\"SubmitSurvey\"")
            let soap12 = try XCTUnwrap(received.first { $0["callId"] as? String == "call-1.2" })
            XCTAssertEqual(soap12["contentType"] as? String, "application/soap+xml; charset=utf-8; action=\"SubmitSurvey\"")

            XCTAssertEqual(events[clientFault]?.state, .dead, "a client/sender fault is permanent")
            XCTAssertEqual(events[clientFault]?.lastError, "soap fault Sender: answer out of range")
            XCTAssertEqual(events[serverFault]?.state, .dead)
            XCTAssertEqual(try store.attempts(eventID: serverFault).map(\.outcome), [.retry, .failed], "a server fault is retried")
            XCTAssertEqual(try store.attempts(eventID: serverFault).first?.error, "soap fault Server.Database: database down")
        }
    }

    func testSettingASOAPWebserviceIsValidatedAgainstTheWSDL() throws {
        try onEachBackend {
            let unknownOperation = try run(["webservice", "set", "x", "--wsdl", wsdl("1.1"), "--operation", "Nope"])
            XCTAssertEqual(unknownOperation.status, 2)
            XCTAssertTrue(unknownOperation.stderr.contains("has no operation Nope; it offers: SubmitSurvey"), unknownOperation.stderr)
            let unknownParameter = try run(["webservice", "set", "x", "--wsdl", wsdl("1.1"), "--operation", "SubmitSurvey", "--param", "callId=1", "--param", "colour=red"])
            XCTAssertEqual(unknownParameter.status, 2)
            XCTAssertTrue(unknownParameter.stderr.contains("has no parameter colour"), unknownParameter.stderr)
            let missingRequired = try run(["webservice", "set", "x", "--wsdl", wsdl("1.1"), "--operation", "SubmitSurvey", "--param", "answer=1"])
            XCTAssertEqual(missingRequired.status, 2)
            XCTAssertTrue(missingRequired.stderr.contains("requires parameter callId"), missingRequired.stderr)
            let unreachable = try run(["webservice", "set", "x", "--wsdl", "http://127.0.0.1:1/service?wsdl", "--operation", "SubmitSurvey"])
            XCTAssertEqual(unreachable.status, 1)
            XCTAssertTrue(unreachable.stderr.contains("cannot fetch WSDL http://127.0.0.1:1/service?wsdl: connect"), unreachable.stderr)
            XCTAssertNil(try store.webservice(named: "x"), "nothing is stored after a refusal")

            try set(["ok", "--wsdl", wsdl("1.2"), "--operation", "SubmitSurvey", "--soap-version", "1.2", "--param", "callId={{call_id}}"])
            let stored = try XCTUnwrap(try store.webservice(named: "ok"))
            XCTAssertEqual(stored.url, "http://127.0.0.1:\(soap.port)/soap12", "the endpoint comes from the WSDL")
            XCTAssertEqual(stored.soap?.soapAction, "SubmitSurvey")
            XCTAssertEqual(stored.soap?.operation.parameterRoots.map(\.name), ["callId", "answer", "score"])

            let refreshed = try run(["webservice", "refresh", "ok"])
            XCTAssertEqual(refreshed.status, 0, refreshed.stderr)
            XCTAssertEqual(try store.webservice(named: "ok"), stored)
            let listed = try postcall(["wsdl", wsdl("1.1"), "--format", "json"])
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any])
            XCTAssertEqual((json["operations"] as? [[String: Any]])?.compactMap { $0["name"] as? String }, ["SubmitSurvey", "FailClient", "FailServer"])
        }
    }
}

import XCTest

@testable import PostCall

final class TemplateTests: XCTestCase {
    private let tricky = "a&b=c d\"e'<f>ü€\r\nX"

    private func values(_ variables: [String: String] = [:]) -> TemplateValues {
        TemplateValues(
            variables: variables, callID: "call-1", reason: "exit", eventID: 42, outboxID: "0123abcd", createdAt: 1_764_079_200_000,
            attempt: 3)
    }

    func testPlaceholdersAndBuiltIns() throws {
        let template = try Template("{{ call_id }}|{{reason}}|{{event_id}}|{{event_key}}|{{created_at}}|{{attempt}}|{{missing}}|{{q1}}")
        let rendered = template.render(values(["q1": "5", "call_id": "spoofed", "event_key": "spoofed"]), encoding: .verbatim)
        XCTAssertEqual(rendered, "call-1|exit|42|0123abcd-42|2025-11-25T14:00:00Z|3||5")
    }

    func testMalformedTemplatesAreRejected() {
        XCTAssertThrowsError(try Template("https://x/{{call_id")) { error in
            XCTAssertEqual((error as? PostCallError)?.code, .template)
        }
        XCTAssertThrowsError(try Template("{{}}"))
        XCTAssertThrowsError(try Template("{{a b}}"))
    }

    func testEncodingsForEachPlace() {
        XCTAssertEqual(TemplateEncoding.urlComponent.encode(tricky), "a%26b%3Dc%20d%22e%27%3Cf%3E%C3%BC%E2%82%AC%0D%0AX")
        XCTAssertEqual(TemplateEncoding.formComponent.encode(tricky), "a%26b%3Dc+d%22e%27%3Cf%3E%C3%BC%E2%82%AC%0D%0AX")
        XCTAssertEqual(TemplateEncoding.jsonString.encode(tricky + "\\\u{01}"), #"a&b=c d\"e'<f>ü€\r\nX\\\u0001"#)
        XCTAssertEqual(TemplateEncoding.xml.encode(tricky), "a&amp;b=c d&quot;e&apos;&lt;f&gt;ü€&#13;\nX")
        XCTAssertEqual(TemplateEncoding.forContentType("application/json; charset=utf-8"), .jsonString)
        XCTAssertEqual(TemplateEncoding.forContentType("application/vnd.api+json"), .jsonString)
        XCTAssertEqual(TemplateEncoding.forContentType("text/xml"), .xml)
        XCTAssertEqual(TemplateEncoding.forContentType("text/plain"), .verbatim)
    }

    func testVariablesDecodeScalarsOnly() throws {
        let decoded = try TemplateValues.decodeVariables(#"{"s":"x","i":5,"f":2.5,"t":true,"f2":false,"n":null}"#)
        XCTAssertEqual(decoded, ["s": "x", "i": "5", "f": "2.5", "t": "true", "f2": "false", "n": ""])
        XCTAssertEqual(
            try TemplateValues.decodeVariables(#" { "e" : "a\"b\\c\/d\n\u00fc\ud83d\ude00" , "big": 12345678901234567890, "x": -1.50e3 } "#),
            ["e": "a\"b\\c/d\nü😀", "big": "12345678901234567890", "x": "-1.50e3"])
        XCTAssertEqual(try TemplateValues.decodeVariables("{}"), [:])
        XCTAssertThrowsError(try TemplateValues.decodeVariables(#"{"o":{"a":1}}"#))
        XCTAssertThrowsError(try TemplateValues.decodeVariables(#"{"a":[1]}"#))
        XCTAssertThrowsError(try TemplateValues.decodeVariables(#"{"a":"1"} trailing"#))
        XCTAssertThrowsError(try TemplateValues.decodeVariables(#"{"a":"unterminated}"#))
        XCTAssertThrowsError(try TemplateValues.decodeVariables(#"{"a":tru}"#))
        XCTAssertThrowsError(try TemplateValues.decodeVariables("[1]"))
        XCTAssertThrowsError(try TemplateValues.decodeVariables("{bad"))
    }

    /// An event's values read from its JSON as the templates ask for them: the same text as the
    /// decoded dictionary gives, the last of a repeated name counting, built-ins first.
    func testValuesFromTheEventsJSONRenderAsTheDecodedOnes() throws {
        let json = #" { "q1" : "first", "e": "a\"b\\c\/d\n\u00fc\ud83d\ude00", "n\u0061me": "escaped name", "i": -1.50e3, "t": true,"#
            + #" "f": false, "z": null, "call_id": "spoofed", "q1": "last", "": "empty name", "s": "" } "#
        let fromJSON = try TemplateValues(
            variablesJSON: json, callID: "call-1", reason: "exit", eventID: 42, outboxID: "0123abcd", createdAt: 1_764_079_200_000,
            attempt: 3)
        let decoded = values(try TemplateValues.decodeVariables(json))
        let names = ["q1", "e", "name", "i", "t", "f", "z", "call_id", "", "s", "missing", "n\\u0061me", "Q1"]
        for name in names { XCTAssertEqual(fromJSON[name], decoded[name], name) }
        XCTAssertEqual(
            names.map { fromJSON[$0] },
            ["last", "a\"b\\c/d\nü😀", "escaped name", "-1.50e3", "true", "false", "", "call-1", "empty name", "", "", "", ""])
        XCTAssertEqual(
            try TemplateValues.variableMembers(#"{"s":"a\"b","n":5,"t":true,"z":null,"e":""}"#).map { [$0.name, $0.json] },
            [["s", #""a\"b""#], ["n", "5"], ["t", "true"], ["z", "null"], ["e", #""""#]])
        XCTAssertThrowsError(
            try TemplateValues(variablesJSON: #"{"a":[1]}"#, callID: "", reason: "", eventID: 1, outboxID: "", createdAt: 0, attempt: 1)
        ) { error in XCTAssertEqual((error as? PostCallError)?.code, .invalidInput) }
        XCTAssertThrowsError(try TemplateValues.decodeVariables(#"{"a":"\ud83d\u0041"}"#), "a high surrogate before another escape must pair")
        XCTAssertThrowsError(try TemplateValues.decodeVariables(#"{"a":"\x"}"#))
        XCTAssertThrowsError(try TemplateValues.decodeVariables(#"{"a":"\u12"}"#))
    }

    func testRequestForEachMethod() throws {
        let base = Webservice(
            name: "s", url: "https://h.example/p/{{call_id}}?fixed=1#frag",
            headers: [.init(name: "X-Ani", value: "{{ani}}")], parameters: [.init(name: "v", value: "{{v}}")])
        let vars = values(["v": "1 2", "ani": "+1555"])

        var get = base
        get.method = .get
        let getRequest = try RESTRequestTemplate(get).render(vars, eventID: 42)
        XCTAssertEqual(getRequest.method, "GET")
        XCTAssertEqual(getRequest.url, "https://h.example/p/call-1?fixed=1&v=1+2#frag")
        XCTAssertNil(getRequest.body)
        XCTAssertEqual(getRequest.header("idempotency-key"), "0123abcd-42", "<outbox id>-<event id>, unique across outboxes")
        XCTAssertEqual(getRequest.header("X-Ani"), "+1555")

        // A configured Idempotency-Key (any case) gives way to ours, so a receiver can rely on it.
        var keyed = get
        keyed.headers.append(.init(name: "IDEMPOTENCY-key", value: "mine-{{v}}"))
        let keyedRequest = try RESTRequestTemplate(keyed).render(vars, eventID: 42)
        XCTAssertEqual(keyedRequest.headers.filter { $0.name.lowercased() == "idempotency-key" }.map(\.value), ["0123abcd-42"])
        XCTAssertEqual(keyedRequest.header("X-Ani"), "+1555")

        var put = base
        put.method = .put
        let putRequest = try RESTRequestTemplate(put).render(vars, eventID: 42)
        XCTAssertEqual(putRequest.method, "PUT")
        XCTAssertEqual(putRequest.body.map { String(decoding: $0, as: UTF8.self) }, "v=1+2")
        XCTAssertEqual(putRequest.header("Content-Type"), "application/x-www-form-urlencoded")

        var raw = base
        raw.method = .postRaw
        raw.body = "{{v}}"
        let rawRequest = try RESTRequestTemplate(raw).render(vars, eventID: 42)
        XCTAssertEqual(rawRequest.method, "POST")
        XCTAssertEqual(rawRequest.header("Content-Type"), "text/plain; charset=utf-8")
        XCTAssertEqual(rawRequest.body.map { String(decoding: $0, as: UTF8.self) }, "1 2")
    }

    func testLineBreakFromVariableNeverReachesAHeader() throws {
        let webservice = Webservice(name: "s", url: "http://h.example/", headers: [.init(name: "X-Name", value: "{{name}}")])
        XCTAssertThrowsError(
            try RESTRequestTemplate(webservice).render(values(["name": "a\r\nInjected: 1"]), eventID: 1)
        ) { error in
            XCTAssertEqual((error as? PostCallError)?.code, .template)
            XCTAssertFalse("\(error)".contains("Injected"), "the message must not carry the value")
        }
    }

    func testConfigurationErrorsAreCaughtWhenSet() {
        XCTAssertThrowsError(try Webservice(name: "s", url: "ftp://h/").validate())
        XCTAssertThrowsError(try Webservice(name: "s", url: "{{host}}/x").validate())
        XCTAssertThrowsError(try Webservice(name: "s", url: "https://{{host}}/x").validate())
        XCTAssertThrowsError(try Webservice(name: "s", method: .post, url: "http://h/", body: "x").validate())
        XCTAssertThrowsError(try Webservice(name: "s", url: "http://h/", headers: [.init(name: "Bad Name", value: "x")]).validate())
        XCTAssertNoThrow(try Webservice(name: "s", url: "https://h.example/{{call_id}}").validate())
    }

    func testJSONWriterWritesNumbersAsDecimal() {
        for value in [0, 7, 10, 204, -1, -503, 1_234_567_890, Int.max, Int.min] {
            var writer = JSONWriter()
            writer.number(value)
            XCTAssertEqual(writer.text, String(value))
        }
    }

    func testEventKeysAreTheOutboxIDAndTheEventID() {
        for id: Int64 in [0, 1, 9, 10, 99, 100, 1_234_567, .max, -5] {
            XCTAssertEqual(TemplateValues.eventKey(outboxID: "0123456789abcdef0123456789abcdef", eventID: id), "0123456789abcdef0123456789abcdef-\(id)")
        }
        XCTAssertEqual(TemplateValues.eventKey(outboxID: "", eventID: 42), "-42")
    }

    /// The variables' scanner goes eight bytes at a time only past plain ones: an escape, a
    /// character outside ASCII or a control character anywhere in a value of any length reads
    /// back as written, and a string left open is refused.
    func testVariablesScanEightBytesAtATimeWithoutMissingOne() throws {
        for special in ["\"", "\\", "\n", "/", "\u{1F}", "é", "😀"] {
            for length in 1...20 {
                for position in 0..<length {
                    var characters = Array(repeating: "b", count: length)
                    characters[position] = special
                    let variables = ["k": characters.joined(), "next": "after"]
                    let json = String(decoding: try JSONEncoder().encode(variables), as: UTF8.self)
                    XCTAssertEqual(try TemplateValues.decodeVariables(json), variables, json)
                }
            }
        }
        for length in 0...20 {
            let open = #"{"k":""# + String(repeating: "b", count: length)
            XCTAssertThrowsError(try TemplateValues.decodeVariables(open), open)
            XCTAssertThrowsError(try TemplateValues.decodeVariables(open + #"\"#), open)
            XCTAssertThrowsError(try TemplateValues.decodeVariables(open + #"\"}"#), open)
        }
    }

    /// Eight bytes at a time are let through only when none of them needs a look: every byte
    /// value, at every position of a word.
    func testJSONWriterScansEightBytesAtATimeWithoutMissingOne() {
        for byte in 0...255 {
            let needsLook = byte < 0x20 || byte == 0x22 || byte == 0x5C || byte >= 0x80
            for position in 0..<8 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                bytes[position] = UInt8(byte)
                let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                XCTAssertEqual(JSONStringBytes.mayNeedALook(word), needsLook, "byte \(byte) at \(position)")
            }
        }
        // Escaped the same as byte by byte, wherever the byte stands in a value of any length.
        for byte in [0x00, 0x0A, 0x1F, 0x22, 0x5C, 0x7F, 0xC3, 0xE2] {
            for length in 1...20 {
                for position in 0..<length {
                    var value = [UInt8](repeating: UInt8(ascii: "b"), count: length)
                    value[position] = UInt8(byte)
                    var writer = JSONWriter()
                    value.withUnsafeBufferPointer { writer.escaped(utf8: $0) }
                    var expected = [UInt8]()
                    for byte in value {
                        switch byte {
                        case 0x0A: expected += Array("\\n".utf8)
                        case 0x22: expected += Array("\\\"".utf8)
                        case 0x5C: expected += Array("\\\\".utf8)
                        case 0x00: expected += Array("\\u0000".utf8)
                        case 0x1F: expected += Array("\\u001f".utf8)
                        default: expected.append(byte)
                        }
                    }
                    XCTAssertEqual(writer.text, String(decoding: expected, as: UTF8.self), "byte \(byte) at \(position) of \(length)")
                }
            }
        }
    }

    func testExchangeSummaryJSONRoundTrips() throws {
        let request = HTTPRequest(
            method: "POST", url: "http://u:pw@h/x?a=\"", headers: [.init(name: "X-A", value: tricky), .init(name: "Authorization", value: "Bearer abc")],
            body: Array((tricky + "\u{2028}").utf8))
        let json = ExchangeSummary.requestJSON(request)
        XCTAssertTrue(json.contains(#"\u2028"#), json)
        XCTAssertEqual(
            try JSONDecoder().decode(ExchangeSummary.self, from: Data(json.utf8)),
            ExchangeSummary(
                method: "POST", url: "http://u:****@h/x?a=\"", status: nil,
                headers: [["X-A", tricky], ["Authorization", "Bearer ****"]], body: tricky + "\u{2028}", bodyBytes: request.body?.count ?? 0))
        // The body prefix may end inside a character or not be UTF-8 at all.
        let response = ExchangeSummary.responseJSON(status: 503, headers: [], bodyPrefix: Array("é".utf8) + [0xC3], bodyBytes: 99)
        XCTAssertEqual(
            try JSONDecoder().decode(ExchangeSummary.self, from: Data(response.utf8)),
            ExchangeSummary(method: nil, url: nil, status: 503, headers: [], body: "é\u{FFFD}", bodyBytes: 99))
    }

    func testResponseSummaryWritesHeadersFromTheirBytes() throws {
        var headers = ResponseHeaders()
        headers.append(name: Array("Set-Cookie".utf8), value: Array("session=abc".utf8))
        headers.append(name: Array("Proxy-Authorization".utf8), value: Array("Basic dXNlcjpwdw==".utf8))
        // Latin-1 from an old server: not UTF-8, replaced rather than stored as invalid text.
        headers.append(name: Array("X-Name".utf8), value: [0x63, 0x61, 0x66, 0xE9])
        headers.append(name: Array("X-Quote".utf8), value: Array("a\"b\\".utf8))
        let json = ExchangeSummary.responseJSON(status: 200, headers: headers, bodyPrefix: [], bodyBytes: 0)
        XCTAssertEqual(
            try JSONDecoder().decode(ExchangeSummary.self, from: Data(json.utf8)).headers,
            [["Set-Cookie", "****"], ["Proxy-Authorization", "Basic ****"], ["X-Name", "caf\u{FFFD}"], ["X-Quote", "a\"b\\"]])
        XCTAssertEqual(headers.last(named: "x-NAME"), "caf\u{FFFD}")
        XCTAssertNil(headers.last(named: "X-Nam"))
        XCTAssertEqual(headers.fields.map(\.name), ["Set-Cookie", "Proxy-Authorization", "X-Name", "X-Quote"])
    }

    func testSecretsAreMasked() {
        XCTAssertEqual(SecretMasking.maskHeader(name: "Authorization", value: "Bearer abc"), "Bearer ****")
        XCTAssertEqual(SecretMasking.maskHeader(name: "X-Api-Key", value: "abc"), "****")
        XCTAssertEqual(SecretMasking.maskHeader(name: "X-Ani", value: "+1555"), "+1555")
        XCTAssertEqual(SecretMasking.maskHeader(name: "X-Client-Secret", value: "abc"), "****")
        XCTAssertEqual(SecretMasking.maskHeader(name: "X-Session-Token", value: "abc"), "****")
        XCTAssertEqual(SecretMasking.maskHeader(name: "COOKIE", value: "a=b"), "****")
        XCTAssertEqual(SecretMasking.maskHeader(name: "Token", value: "abc"), "****")
        XCTAssertEqual(SecretMasking.maskHeader(name: "Toke", value: "abc"), "abc")
        // The words anywhere in the name, in any case; nothing for a near miss or an empty name.
        for (name, secret) in [("PASSWORD", true), ("x-PassWd-old", true), ("my-secret", true), ("secre", false), ("", false),
                               ("X-Api-Keys", false), ("set-cookie", true), ("Set-Cookie2", false), ("ÄToken", true), ("x-tok-token", true),
                               ("apassw", false), ("XSECRET", true)] {
            XCTAssertEqual(SecretMasking.isSecret(headerName: name), secret, name)
        }
        XCTAssertEqual(SecretMasking.maskURL("https://user:pw@h.example/x?a=b"), "https://user:****@h.example/x?a=b")
        XCTAssertEqual(SecretMasking.maskURL("https://h.example/x@y"), "https://h.example/x@y")
        XCTAssertEqual(SecretMasking.maskURL("https://h.example/x?token=t&q=1"), "https://h.example/x?token=****&q=1")
        XCTAssertEqual(SecretMasking.maskURL("https://h.example/plain"), "https://h.example/plain")
    }

    func testWhenParsing() {
        XCTAssertEqual(Timestamp.parseWhen("2h", now: 10_000_000), 10_000_000 - 7_200_000)
        XCTAssertEqual(Timestamp.parseWhen("90m", now: 10_000_000), 10_000_000 - 5_400_000)
        XCTAssertEqual(Timestamp.parseWhen("2025-11-25T14:00:00Z"), 1_764_079_200_000)
        XCTAssertEqual(Timestamp.parseWhen("2025-11-25T15:00:00.500+01:00"), 1_764_079_200_500)
        XCTAssertEqual(Timestamp.parseWhen("2025-11-25t09:30:00.1-04:30"), 1_764_079_200_100)
        XCTAssertEqual(Timestamp.parseWhen("1970-01-01T00:00:00Z"), 0)
        XCTAssertEqual(Timestamp.rfc3339(1_764_079_200_007), "2025-11-25T14:00:00.007Z")
        XCTAssertNil(Timestamp.parseWhen("yesterday"))
        XCTAssertNil(Timestamp.parseWhen("2025-13-25T14:00:00Z"))
        XCTAssertNil(Timestamp.parseWhen("2025-11-25T14:00:00"), "a time without a zone is ambiguous")
        XCTAssertNil(Timestamp.parseWhen("2025-11-25T14:00:00Zjunk"))
    }
}

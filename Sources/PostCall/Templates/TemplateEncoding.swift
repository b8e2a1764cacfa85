/// How a rendered value is encoded for the place it lands in.
public enum TemplateEncoding: Sendable {
    /// A URL written in the template: everything but RFC 3986 unreserved characters is
    /// percent-encoded, so a value cannot add path segments, query parameters or a fragment.
    case urlComponent
    /// An `application/x-www-form-urlencoded` name or value (query string or form body).
    case formComponent
    /// Inside a JSON string literal of a raw body.
    case jsonString
    /// XML character data or an attribute value.
    case xml
    /// As is (a raw body of another content type).
    case verbatim

    /// Encodes `value`.
    public func encode(_ value: String) -> String {
        switch self {
        case .urlComponent: return Self.percentEncode(value, spaceAsPlus: false)
        case .formComponent: return Self.percentEncode(value, spaceAsPlus: true)
        case .jsonString: return Self.jsonEscape(value)
        case .xml: return Self.xmlEscape(value)
        case .verbatim: return value
        }
    }

    /// The encoding a raw body needs, chosen from its Content-Type.
    public static func forContentType(_ contentType: String) -> TemplateEncoding {
        let mediaType = contentType.split(separator: ";").first.map { $0.lowercased() } ?? ""
        if mediaType.hasSuffix("/json") || mediaType.hasSuffix("+json") { return .jsonString }
        if mediaType.hasSuffix("/xml") || mediaType.hasSuffix("+xml") { return .xml }
        return .verbatim
    }

    /// Appends `value` encoded to `bytes`: how a rendering builds its text, with no string made
    /// for each value.
    func append(_ value: String, to bytes: inout [UInt8]) {
        switch self {
        case .urlComponent, .formComponent:
            var value = value
            value.withUTF8 { Self.appendPercentEncoded($0, spaceAsPlus: self == .formComponent, to: &bytes) }
        case .verbatim: bytes.append(contentsOf: value.utf8)
        case .jsonString, .xml: bytes.append(contentsOf: encode(value).utf8)
        }
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// RFC 3986 unreserved bytes, the only ones a percent-encoding keeps: one lookup per byte.
    private static let unreserved: [Bool] = (0...255).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    private static func percentEncode(_ value: String, spaceAsPlus: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count * 3)
        var value = value
        value.withUTF8 { appendPercentEncoded($0, spaceAsPlus: spaceAsPlus, to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func appendPercentEncoded(_ utf8: UnsafeBufferPointer<UInt8>, spaceAsPlus: Bool, to bytes: inout [UInt8]) {
        let unreserved = Self.unreserved
        for byte in utf8 {
            if unreserved[Int(byte)] {
                bytes.append(byte)
            } else if byte == UInt8(ascii: " ") && spaceAsPlus {
                bytes.append(UInt8(ascii: "+"))
            } else {
                bytes.append(UInt8(ascii: "%"))
                bytes.append(hexDigits[Int(byte >> 4)])
                bytes.append(hexDigits[Int(byte & 0x0f)])
            }
        }
    }

    private static func jsonEscape(_ value: String) -> String {
        // Most values need no escaping; 0xE2 leads the UTF-8 of U+2028 and U+2029.
        let needsEscaping = value.utf8.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == 0xE2 }
        guard needsEscaping else { return value }
        var writer = JSONWriter(capacity: value.utf8.count + 16)
        writer.escaped(value)
        return writer.text
    }

    private static func xmlEscape(_ value: String) -> String {
        var output = ""
        output.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&apos;"
            // CR would be normalised away by an XML parser; a character reference keeps it.
            case "\r": output += "&#13;"
            // XML 1.0 cannot carry other control characters at all, not even as references.
            case _ where scalar.value < 0x20 && scalar != "\n" && scalar != "\t": output += "\u{FFFD}"
            case "\u{FFFE}", "\u{FFFF}": output += "\u{FFFD}"
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }
}

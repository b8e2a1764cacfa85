/// Compact JSON text built in a byte buffer.
///
/// The attempt summaries are written for every delivery; building them with string
/// concatenation cost more per event than SQLite's insert of the result.
struct JSONWriter: ~Copyable {
    private var buffer: ByteBuffer

    init(capacity: Int = 256) {
        buffer = ByteBuffer(capacity: capacity)
    }

    /// The JSON, any bytes that are not UTF-8 replaced (U+FFFD).
    var text: String { String(decoding: buffer.bytes, as: UTF8.self) }

    /// Appends JSON syntax as is.
    mutating func raw(_ literal: StaticString) {
        literal.withUTF8Buffer { buffer.append($0) }
    }

    /// Appends `value` in decimal (`String(value)` went through a protocol witness and made a
    /// string for each of every attempt's numbers).
    mutating func number(_ value: Int) {
        buffer.append(count: DecimalText.length(of: Int64(value))) { DecimalText.write(Int64(value), at: $0) }
    }

    /// Appends `value` as a string literal, quotes included.
    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { string(utf8: $0) }
    }

    /// Appends `utf8` as a string literal, quotes included. Bytes that are not UTF-8 (a header
    /// from a server that sends Latin-1) are replaced when the text is made (``text``): the
    /// replacement never takes an ASCII byte with it, so the quotes and escapes stay.
    mutating func string(utf8: UnsafeBufferPointer<UInt8>) {
        buffer.append(UInt8(ascii: "\""))
        escaped(utf8: utf8)
        buffer.append(UInt8(ascii: "\""))
    }

    /// Appends `value` escaped for the inside of a string literal.
    mutating func escaped(_ value: String) {
        var value = value
        value.withUTF8 { escaped(utf8: $0) }
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    /// The bytes that end a run copied as is: control characters, `"`, `\` and the lead byte of
    /// U+2028/U+2029.
    @inline(__always)
    private static func endsRun(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0xE2
    }

    /// Appends `utf8` escaped for the inside of a string literal.
    mutating func escaped(utf8: UnsafeBufferPointer<UInt8>) {
        // Most values (header names and values, URLs, form bodies) need no escape: one scan, eight
        // bytes at a time while they are plain ASCII, and one copy.
        var index = JSONStringBytes.plainWords(in: utf8, from: 0)
        while index < utf8.count && !Self.endsRun(utf8[index]) { index += 1 }
        guard index < utf8.count else {
            buffer.append(utf8)
            return
        }
        var runStart = 0
        while index < utf8.count {
            let byte = utf8[index]
            // Most bytes are copied as they are, a run at a time.
            guard Self.endsRun(byte) else {
                index += 1
                continue
            }
            buffer.append(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0x08: raw("\\b")
            case 0x0C: raw("\\f")
            case 0..<0x20:
                raw("\\u00")
                Self.hexDigits.withUTF8Buffer { hex in
                    buffer.append(hex[Int(byte >> 4)])
                    buffer.append(hex[Int(byte & 0x0f)])
                }
            // U+2028 and U+2029 (E2 80 A8/A9) are valid JSON but break JavaScript receivers that
            // eval or embed it.
            case 0xE2 where index + 2 < utf8.count && utf8[index + 1] == 0x80 && (utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9):
                raw(utf8[index + 2] == 0xA8 ? "\\u2028" : "\\u2029")
                index += 2
            default:
                buffer.append(byte)
            }
            index += 1
            runStart = index
        }
        buffer.append(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
    }
}

/// Parses an event's `variables`: one JSON object whose values are strings, numbers, booleans or
/// null, into the text each value renders as. Numbers keep their JSON spelling, booleans become
/// `true`/`false`, null the empty string.
///
/// Hand-written because it runs for every attempt and JSONDecoder cost more than the request. It
/// reads the string's own bytes in place: a copy of them cost 600 instructions an event.
struct ScalarJSONObject {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0

    static func parse(_ json: String) throws -> [String: String] {
        var json = json
        return try json.withUTF8 { bytes in
            var parser = ScalarJSONObject(bytes: bytes)
            var values = [String: String](minimumCapacity: 8)
            try parser.object { name, text, _ in values[name] = text }
            return values
        }
    }

    /// The members in order, each value as its JSON text (`"a\"b"`, `5`, `true`, `null`).
    static func members(_ json: String) throws -> [(name: String, json: String)] {
        var json = json
        return try json.withUTF8 { bytes in
            var parser = ScalarJSONObject(bytes: bytes)
            var members: [(name: String, json: String)] = []
            try parser.object { name, _, json in members.append((name, String(decoding: json, as: UTF8.self))) }
            return members
        }
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private struct Malformed: Error {}

    /// Calls `member` with each member's name, its value as text and its value's JSON bytes, in order.
    private mutating func object(_ member: (String, String, Slice<UnsafeBufferPointer<UInt8>>) -> Void) throws {
        skipWhitespace()
        try expect(UInt8(ascii: "{"))
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                skipWhitespace()
                let name = try string()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                let start = position
                let text = try scalar()
                member(name, text, bytes[start..<position])
                skipWhitespace()
                if peek() == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                try expect(UInt8(ascii: "}"))
                break
            }
        }
        skipWhitespace()
        guard position == bytes.count else { throw Malformed() }
    }

    private mutating func scalar() throws -> String {
        guard let first = peek() else { throw Malformed() }
        switch first {
        case UInt8(ascii: "\""): return try string()
        case UInt8(ascii: "t"): return try literal("true", renders: "true")
        case UInt8(ascii: "f"): return try literal("false", renders: "false")
        case UInt8(ascii: "n"): return try literal("null", renders: "")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = position
            while let byte = peek(), byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            {
                position += 1
            }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        default:
            throw Malformed()  // objects and arrays are not variables
        }
    }

    private mutating func literal(_ word: StaticString, renders text: String) throws -> String {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count,
            bytes[position..<(position + count)].elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: count))
        else { throw Malformed() }
        position += count
        return text
    }

    private mutating func string() throws -> String {
        try expect(UInt8(ascii: "\""))
        // Most strings have no escape: made from their bytes in place (no buffer; a string of up
        // to 15 bytes is stored inline, so none is allocated at all).
        var end = position
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\") { end += 1 }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            defer { position = end + 1 }
            return String(decoding: bytes[position..<end], as: UTF8.self)
        }
        var output = Array(bytes[position..<end])
        position = end
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: output, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { throw Malformed() }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escape)
                case UInt8(ascii: "b"): output.append(0x08)
                case UInt8(ascii: "f"): output.append(0x0C)
                case UInt8(ascii: "n"): output.append(0x0A)
                case UInt8(ascii: "r"): output.append(0x0D)
                case UInt8(ascii: "t"): output.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar), peek() == UInt8(ascii: "\\"),
                        position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u")
                    {
                        position += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw Malformed() }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    output.append(contentsOf: String(Unicode.Scalar(scalar) ?? "\u{FFFD}").utf8)
                default: throw Malformed()
                }
            default:
                output.append(byte)
            }
        }
        throw Malformed()
    }

    private mutating func hex4() throws -> UInt32 {
        guard position + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[position..<(position + 4)], as: UTF8.self), radix: 16)
        else { throw Malformed() }
        position += 4
        return value
    }

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func expect(_ byte: UInt8) throws {
        guard peek() == byte else { throw Malformed() }
        position += 1
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
    }
}

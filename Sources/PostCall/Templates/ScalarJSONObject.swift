/// An event's `variables`, checked: one JSON object whose values are strings, numbers, booleans
/// or null. It keeps where each member lies, and makes a value into the text it renders as only
/// when a template asks for it: numbers keep their JSON spelling, booleans become `true`/`false`,
/// null the empty string.
///
/// Hand-written because it runs for every attempt and JSONDecoder cost more than the request.
/// An event usually carries many more variables than its webservice uses: made into a dictionary,
/// 22 of them cost 47,000 instructions an event (callgrind), most of the worker's own work.
struct ScalarJSONObject: Sendable {
    /// Where one member lies in the JSON's bytes.
    struct Member: Sendable {
        /// The name's bytes between its quotes.
        let name: Range<Int>
        let nameIsEscaped: Bool
        /// The value's bytes (a string's between its quotes).
        let value: Range<Int>
        let kind: Kind
    }

    /// How a member's value becomes text.
    enum Kind: Sendable {
        /// A string, `escaped` if it has escapes to undo.
        case string(escaped: Bool)
        /// A number or boolean: its JSON spelling.
        case literal
        /// `null`: the empty string.
        case null
    }

    /// The JSON as given.
    let json: String
    /// The members in order. A name may appear twice; the last one counts, as in a dictionary.
    let members: [Member]

    init(_ json: String) throws {
        self.json = json
        members = try Self.withBytes(of: json) { bytes in
            var scanner = Scanner(bytes: bytes)
            return try scanner.object()
        }
    }

    /// The text of the last member called `name`, if there is one.
    func text(named name: String) -> String? {
        Self.withBytes(of: json) { bytes in
            var name = name
            return name.withUTF8 { wanted in
                for member in members.reversed() where Self.isNamed(member, wanted, in: bytes) {
                    return Self.text(of: member, in: bytes)
                }
                return nil
            }
        }
    }

    /// Every member's text by name (the last of a repeated name counts).
    var values: [String: String] {
        Self.withBytes(of: json) { bytes in
            var values = [String: String](minimumCapacity: members.count)
            for member in members { values[Self.name(of: member, in: bytes)] = Self.text(of: member, in: bytes) }
            return values
        }
    }

    /// The members in order, each value as its JSON text (`"a\"b"`, `5`, `true`, `null`).
    var jsonMembers: [(name: String, json: String)] {
        Self.withBytes(of: json) { bytes in
            members.map { member in
                // A string's JSON text has its quotes, just outside its contents.
                var text = member.value
                if case .string = member.kind { text = (text.lowerBound - 1)..<(text.upperBound + 1) }
                return (Self.name(of: member, in: bytes), String(decoding: bytes[text], as: UTF8.self))
            }
        }
    }

    private static func withBytes<Result>(of json: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        if let result = try json.utf8.withContiguousStorageIfAvailable(body) { return result }
        return try Array(json.utf8).withUnsafeBufferPointer(body)
    }

    private static func name(of member: Member, in bytes: UnsafeBufferPointer<UInt8>) -> String {
        member.nameIsEscaped ? Scanner.unescaped(bytes[member.name]) : String(decoding: bytes[member.name], as: UTF8.self)
    }

    /// Whether `member` is called `wanted`, compared on the bytes unless its name has escapes.
    private static func isNamed(_ member: Member, _ wanted: UnsafeBufferPointer<UInt8>, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if member.nameIsEscaped { return name(of: member, in: bytes).utf8.elementsEqual(wanted) }
        return member.name.count == wanted.count && bytes[member.name].elementsEqual(wanted)
    }

    private static func text(of member: Member, in bytes: UnsafeBufferPointer<UInt8>) -> String {
        switch member.kind {
        case .string(escaped: false), .literal: String(decoding: bytes[member.value], as: UTF8.self)
        case .string(escaped: true): Scanner.unescaped(bytes[member.value])
        case .null: ""
        }
    }

    private struct Malformed: Error {}

    /// Walks the JSON once, checking it, and notes where its members lie.
    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        mutating func object() throws -> [Member] {
            var members: [Member] = []
            // Grown from empty, the array was copied five times for 22 variables.
            members.reserveCapacity(16)
            skipWhitespace()
            try expect(UInt8(ascii: "{"))
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                position += 1
            } else {
                while true {
                    skipWhitespace()
                    let (name, nameIsEscaped) = try string()
                    skipWhitespace()
                    try expect(UInt8(ascii: ":"))
                    skipWhitespace()
                    let (value, kind) = try scalar()
                    members.append(Member(name: name, nameIsEscaped: nameIsEscaped, value: value, kind: kind))
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
            return members
        }

        private mutating func scalar() throws -> (Range<Int>, Kind) {
            guard let first = peek() else { throw Malformed() }
            let start = position
            switch first {
            case UInt8(ascii: "\""):
                let (range, isEscaped) = try string()
                return (range, .string(escaped: isEscaped))
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"):
                try literal("null")
                return (start..<position, .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                while let byte = peek(), byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                {
                    position += 1
                }
            default:
                throw Malformed()  // objects and arrays are not variables
            }
            return (start..<position, .literal)
        }

        private mutating func literal(_ word: StaticString) throws {
            let count = word.utf8CodeUnitCount
            guard position + count <= bytes.count,
                bytes[position..<(position + count)].elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: count))
            else { throw Malformed() }
            position += count
        }

        /// Checks a string literal, escapes included, and returns where its contents lie.
        private mutating func string() throws -> (Range<Int>, isEscaped: Bool) {
            try expect(UInt8(ascii: "\""))
            let start = position
            var isEscaped = false
            while true {
                // A survey's answers are mostly plain text: eight bytes at a time while none ends
                // the string or starts an escape, then a byte at a time up to the one that does.
                position = JSONStringBytes.plainWords(in: bytes, from: position)
                while position < bytes.count, bytes[position] != UInt8(ascii: "\""), bytes[position] != UInt8(ascii: "\\") {
                    position += 1
                }
                guard position < bytes.count else { throw Malformed() }
                position += 1
                guard bytes[position - 1] == UInt8(ascii: "\\") else { return (start..<(position - 1), isEscaped) }
                isEscaped = true
                guard position < bytes.count else { throw Malformed() }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    continue
                case UInt8(ascii: "u"):
                    let scalar = try Self.hex4(bytes, at: position)
                    position += 4
                    // A high surrogate followed by another `\u` must pair with a low one.
                    if Self.isHighSurrogate(scalar), let next = Self.unicodeEscape(in: bytes, at: position) {
                        guard (0xDC00..<0xE000).contains(next) else { throw Malformed() }
                        position += 6
                    }
                default: throw Malformed()
                }
            }
        }

        /// The contents of a string literal checked by ``string()``, its escapes undone.
        static func unescaped(_ contents: Slice<UnsafeBufferPointer<UInt8>>) -> String {
            var output: [UInt8] = []
            output.reserveCapacity(contents.count)
            var index = contents.startIndex
            while index < contents.endIndex {
                let byte = contents[index]
                index += 1
                guard byte == UInt8(ascii: "\\"), index < contents.endIndex else {
                    output.append(byte)
                    continue
                }
                let escape = contents[index]
                index += 1
                switch escape {
                case UInt8(ascii: "b"): output.append(0x08)
                case UInt8(ascii: "f"): output.append(0x0C)
                case UInt8(ascii: "n"): output.append(0x0A)
                case UInt8(ascii: "r"): output.append(0x0D)
                case UInt8(ascii: "t"): output.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = (try? hex4(contents.base, at: index)) ?? 0xFFFD
                    index += 4
                    // ``string()`` checked that such a pair's second half is a low surrogate.
                    if isHighSurrogate(scalar), let low = unicodeEscape(in: contents.base, at: index) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        index += 6
                    }
                    output.append(contentsOf: String(Unicode.Scalar(scalar) ?? "\u{FFFD}").utf8)
                default: output.append(escape)  // `"`, `\` and `/`
                }
            }
            return String(decoding: output, as: UTF8.self)
        }

        private static func isHighSurrogate(_ scalar: UInt32) -> Bool { (0xD800..<0xDC00).contains(scalar) }

        /// The code unit of the `\uXXXX` escape at `position`, if one stands there.
        private static func unicodeEscape(in bytes: UnsafeBufferPointer<UInt8>, at position: Int) -> UInt32? {
            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                return nil
            }
            return try? hex4(bytes, at: position + 2)
        }

        private static func hex4(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int) throws -> UInt32 {
            guard position + 4 <= bytes.count,
                let value = UInt32(String(decoding: bytes[position..<(position + 4)], as: UTF8.self), radix: 16)
            else { throw Malformed() }
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
}

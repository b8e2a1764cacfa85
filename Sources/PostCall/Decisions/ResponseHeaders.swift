/// A response's header lines, kept as the bytes that arrived.
///
/// The decisions read one or two of them by name (`Retry-After`, `Location`) and the history
/// writes them all; as strings, every response cost two strings a line, made once and escaped
/// again for the history.
struct ResponseHeaders: Sendable, Equatable, ExpressibleByArrayLiteral {
    /// Where one line's name and value lie in ``bytes``.
    struct Line: Sendable, Equatable {
        let name: Range<Int>
        let value: Range<Int>
    }

    /// The names and values, one after another, as received (not necessarily UTF-8).
    private(set) var bytes: [UInt8] = []
    private(set) var lines: [Line] = []

    init() {}

    init(_ fields: [Webservice.Field]) {
        for field in fields { append(name: Array(field.name.utf8), value: Array(field.value.utf8)) }
    }

    init(arrayLiteral fields: Webservice.Field...) {
        self.init(fields)
    }

    var count: Int { lines.count }

    mutating func append(name: some Collection<UInt8>, value: some Collection<UInt8>) {
        let nameStart = bytes.count
        bytes.append(contentsOf: name)
        let valueStart = bytes.count
        bytes.append(contentsOf: value)
        lines.append(Line(name: nameStart..<valueStart, value: valueStart..<bytes.count))
    }

    /// Empties the headers, keeping their storage for the next response.
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        lines.removeAll(keepingCapacity: true)
    }

    /// The value of the last header called `name`, compared ignoring ASCII case; invalid UTF-8
    /// is replaced.
    func last(named name: String) -> String? {
        let wanted = Array(name.utf8)
        let line = lines.last { line in
            line.name.count == wanted.count
                && zip(bytes[line.name], wanted).allSatisfy { $0.asciiLowercased == $1.asciiLowercased }
        }
        return line.map { String(decoding: bytes[$0.value], as: UTF8.self) }
    }

    /// Every line as a field, invalid UTF-8 replaced.
    var fields: [Webservice.Field] {
        lines.map { Webservice.Field(name: String(decoding: bytes[$0.name], as: UTF8.self), value: String(decoding: bytes[$0.value], as: UTF8.self)) }
    }

    /// Calls `body` with each line's name and value, in the order they arrived.
    func forEachLine(_ body: (_ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) -> Void) {
        bytes.withUnsafeBufferPointer { all in
            for line in lines { body(UnsafeBufferPointer(rebasing: all[line.name]), UnsafeBufferPointer(rebasing: all[line.value])) }
        }
    }
}

/// A text with `{{name}}` placeholders, parsed once.
public struct Template: Sendable, Equatable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case placeholder(String)
    }

    let segments: [Segment]

    /// Parses `text`. An unclosed `{{` or an empty or malformed name is an error, reported when
    /// the webservice is configured rather than at delivery time.
    public init(_ text: String) throws {
        var segments: [Segment] = []
        var rest = Substring(text)
        while let open = rest.firstRange(of: "{{") {
            if open.lowerBound > rest.startIndex { segments.append(.literal(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                throw PostCallError(.template, "template \(text.debugDescription) has a `{{` without a closing `}}`")
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingWhitespace()
            guard !name.isEmpty, name.allSatisfy(Self.isNameCharacter) else {
                throw PostCallError(
                    .template,
                    "template \(text.debugDescription) has an invalid placeholder {{\(name)}}; names use letters, digits, `_`, `-` and `.`")
            }
            segments.append(.placeholder(name))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { segments.append(.literal(String(rest))) }
        self.segments = segments
    }

    /// The placeholder names in order of appearance.
    public var placeholders: [String] {
        segments.compactMap { if case .placeholder(let name) = $0 { name } else { nil } }
    }

    /// Renders the template, each value encoded by `encoding` for the place it lands in.
    /// Literal text is kept as written: the designer wrote it for that place already.
    public func render(_ values: TemplateValues, encoding: TemplateEncoding) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        render(values, encoding: encoding, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the rendered template to `bytes` (see ``render(_:encoding:)``): the delivery's
    /// URL and form are built this way, without a string for each piece.
    func render(_ values: TemplateValues, encoding: TemplateEncoding, into bytes: inout [UInt8]) {
        for segment in segments {
            switch segment {
            case .literal(let text): bytes.append(contentsOf: text.utf8)
            case .placeholder(let name): encoding.append(values[name], to: &bytes)
            }
        }
    }

    private static func isNameCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || "_-.".contains(character))
    }
}

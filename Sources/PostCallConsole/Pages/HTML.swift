import PostCall

/// A fragment of HTML. Text interpolated into one is escaped; only another `HTML` value goes in
/// as markup. Pages are built from these alone, so nothing from a receiver, a call id or a
/// header can reach a page unescaped.
public struct HTML: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public private(set) var description: String

    public init(stringLiteral value: String) {
        description = value
    }

    public init(stringInterpolation: Interpolation) {
        description = stringInterpolation.output
    }

    /// Markup the caller vouches for: literals of our own, never outside text.
    private init(trusted: String) {
        description = trusted
    }

    public static let empty = HTML(stringLiteral: "")

    /// Several fragments one after another.
    public static func joined(_ parts: some Sequence<HTML>) -> HTML {
        HTML(trusted: parts.map(\.description).joined())
    }

    /// `text` with `& < > " '` as character references: safe in element content and in quoted
    /// attribute values alike. XML's escaping serves: HTML5 reads every reference it writes,
    /// and control characters no page should carry become U+FFFD.
    public static func escape(_ text: String) -> String {
        TemplateEncoding.xml.encode(text)
    }

    public struct Interpolation: StringInterpolationProtocol {
        var output = ""

        public init(literalCapacity: Int, interpolationCount: Int) {
            output.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        public mutating func appendLiteral(_ literal: String) {
            output += literal
        }

        public mutating func appendInterpolation(_ html: HTML) {
            output += html.description
        }

        public mutating func appendInterpolation(_ text: String) {
            output += HTML.escape(text)
        }

        public mutating func appendInterpolation(_ text: String?) {
            output += HTML.escape(text ?? "")
        }

        public mutating func appendInterpolation<Number: BinaryInteger>(_ number: Number) {
            output += String(number)
        }

        public mutating func appendInterpolation(_ parts: [HTML]) {
            output += parts.map(\.description).joined()
        }
    }
}

import Glibc
import Logging

/// Writes one line per log event to standard error, as logfmt or as a JSON object, for journald
/// and log shippers.
///
///     ts=2026-11-25T14:03:07.123Z level=warning msg="delivery failed, will retry" event=1042 error="http 503"
///     {"ts":"2026-11-25T14:03:07.123Z","level":"warning","msg":"delivery failed, will retry","event":"1042","error":"http 503"}
public struct LineLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable {
        case logfmt, json
    }

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let format: Format

    public init(label: String, format: Format, level: Logger.Level) {
        self.format = format
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        emit(level: event.level, message: event.message, metadata: event.metadata)
    }

    /// The entry point of swift-log before 1.11; kept because a caller may still use it.
    public func log(
        level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
        file: String, function: String, line: UInt
    ) {
        emit(level: level, message: message, metadata: explicit)
    }

    private func emit(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?) {
        let merged = metadata.merging(explicit ?? [:]) { $1 }
        let fields = [("ts", Timestamp.rfc3339(Timestamp.now())), ("level", level.rawValue), ("msg", message.description)]
            + merged.keys.sorted().map { ($0, "\(merged[$0].map { "\($0)" } ?? "")") }
        let text: String
        switch format {
        case .logfmt:
            text = fields.map { "\($0.0)=\(Self.logfmtValue($0.1))" }.joined(separator: " ")
        case .json:
            text = "{" + fields.map { "\"\(TemplateEncoding.jsonString.encode($0.0))\":\"\(TemplateEncoding.jsonString.encode($0.1))\"" }
                .joined(separator: ",") + "}"
        }
        // One write per line, so lines from concurrent writers never interleave.
        var line = Array((text + "\n").utf8)
        _ = line.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    static func logfmtValue(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.value < 0x20 }
        guard needsQuotes else { return value }
        return "\"" + TemplateEncoding.jsonString.encode(value) + "\""
    }
}

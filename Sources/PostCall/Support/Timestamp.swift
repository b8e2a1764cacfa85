import Foundation

/// Milliseconds since the Unix epoch, UTC: the unit of every time in the database.
public typealias Milliseconds = Int64

public enum Timestamp {
    /// The current wall-clock time.
    public static func now() -> Milliseconds {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Milliseconds(spec.tv_sec) * 1000 + Milliseconds(spec.tv_nsec) / 1_000_000
    }

    /// A monotonic clock for measuring durations, immune to wall-clock steps.
    public static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-25T14:03:07.123Z`.
    public static func rfc3339(_ time: Milliseconds) -> String {
        var seconds = time_t(time / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(time % 1000))
    }

    /// Local time for people, e.g. `2026-11-25 15:03:07 +0100`.
    public static func localTime(_ time: Milliseconds) -> String {
        var seconds = time_t(time / 1000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S %z", &parts)
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Parses `WHEN`: RFC 3339 (`2026-11-25T14:00:00Z`, offsets and fractions allowed) or a
    /// duration back from `now` such as `90s`, `90m`, `2h`, `7d`.
    public static func parseWhen(_ text: String, now: Milliseconds = Timestamp.now()) -> Milliseconds? {
        if let duration = parseDuration(text) { return now - duration }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Milliseconds(date.timeIntervalSince1970 * 1000) }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return Milliseconds(date.timeIntervalSince1970 * 1000) }
        return nil
    }

    /// Parses a duration such as `500ms`, `30s`, `90m`, `2h`, `7d` into milliseconds.
    public static func parseDuration(_ text: String) -> Milliseconds? {
        let units: [(suffix: String, factor: Milliseconds)] = [
            ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000),
        ]
        for unit in units where text.hasSuffix(unit.suffix) {
            let number = text.dropLast(unit.suffix.count)
            guard !number.isEmpty, number.allSatisfy(\.isASCII), let value = Milliseconds(number), value >= 0 else {
                continue
            }
            return value * unit.factor
        }
        return nil
    }

    /// A duration for people: `750ms`, `45s`, `12m`, `3h20m`, `2d4h`.
    public static func formatDuration(_ milliseconds: Milliseconds) -> String {
        if milliseconds < 1000 { return "\(milliseconds)ms" }
        let seconds = milliseconds / 1000
        switch seconds {
        case ..<60: return "\(seconds)s"
        case ..<3600: return "\(seconds / 60)m" + (seconds % 60 == 0 ? "" : "\(seconds % 60)s")
        case ..<86400: return "\(seconds / 3600)h" + (seconds % 3600 / 60 == 0 ? "" : "\(seconds % 3600 / 60)m")
        default: return "\(seconds / 86400)d" + (seconds % 86400 / 3600 == 0 ? "" : "\(seconds % 86400 / 3600)h")
        }
    }
}

import Glibc

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
        let date = (Int(parts.tm_year) + 1900).zeroPadded(4) + "-" + (Int(parts.tm_mon) + 1).zeroPadded(2) + "-"
            + Int(parts.tm_mday).zeroPadded(2)
        let clock = Int(parts.tm_hour).zeroPadded(2) + ":" + Int(parts.tm_min).zeroPadded(2) + ":"
            + Int(parts.tm_sec).zeroPadded(2)
        return date + "T" + clock + "." + Int(time % 1000).zeroPadded(3) + "Z"
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
        return parseRFC3339(text)
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; a space may stand for the `T`.
    static func parseRFC3339(_ text: String) -> Milliseconds? {
        let bytes = Array(text.utf8)
        func number(_ from: Int, _ length: Int) -> Int? {
            guard from + length <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[from..<(from + length)] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t") || bytes[10] == UInt8(ascii: " "),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
            let minute = number(14, 2), let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var milliseconds = 0
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, (48...57).contains(bytes[index]) {
                if digits < 3 { milliseconds = milliseconds * 10 + Int(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<3 where digits < 3 { milliseconds *= 10 }
        }
        guard index < bytes.count else { return nil }
        var offsetSeconds = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == bytes.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == bytes.count, bytes[index + 3] == UInt8(ascii: ":"),
                let offsetHours = number(index + 1, 2), let offsetMinutes = number(index + 4, 2)
            else { return nil }
            offsetSeconds = (offsetHours * 3600 + offsetMinutes * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        default:
            return nil
        }
        return utcMilliseconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
            .map { $0 + Milliseconds(milliseconds) - Milliseconds(offsetSeconds) * 1000 }
    }

    /// Milliseconds since the epoch for a UTC calendar time.
    static func utcMilliseconds(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Milliseconds? {
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        return seconds == -1 && year != 1969 ? nil : Milliseconds(seconds) * 1000
    }

    /// The longest duration accepted: longer ones are typing mistakes, and every duration must
    /// still fit a clock reading and a nanosecond count without overflowing.
    public static let maximumDuration: Milliseconds = 100 * 366 * 86_400_000

    /// Parses a duration such as `500ms`, `30s`, `90m`, `2h`, `7d` into milliseconds; `nil` for
    /// anything else, negative or over ``maximumDuration`` (about 100 years).
    public static func parseDuration(_ text: String) -> Milliseconds? {
        let units: [(suffix: String, factor: Milliseconds)] = [
            ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000),
        ]
        for unit in units where text.hasSuffix(unit.suffix) {
            let number = text.dropLast(unit.suffix.count)
            guard !number.isEmpty, number.allSatisfy(\.isASCII), let value = Milliseconds(number), value >= 0 else {
                continue
            }
            let (product, overflow) = value.multipliedReportingOverflow(by: unit.factor)
            return overflow || product > maximumDuration ? nil : product
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

/// Integers written as decimal digits straight into a buffer: the hot paths write an event id or
/// a status for every delivery, where `String(value)` makes a string each time.
enum DecimalText {
    /// How many bytes `value` takes, its minus sign included.
    static func length(of value: Int64) -> Int {
        var rest = value.magnitude / 10
        var digits = 1
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        return value < 0 ? digits + 1 : digits
    }

    /// Writes `value` into the ``length(of:)`` bytes from `start`.
    static func write(_ value: Int64, at start: UnsafeMutablePointer<UInt8>) {
        if value < 0 { start.pointee = UInt8(ascii: "-") }
        var rest = value.magnitude
        var index = length(of: value) - 1
        repeat {
            start[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            index -= 1
        } while rest > 0
    }
}

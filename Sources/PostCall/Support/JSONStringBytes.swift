/// What the bytes inside a JSON string literal are, eight at a time: most of the strings written
/// and read for every delivery (header names and values, URLs, form bodies, a survey's answers)
/// hold nothing that needs a second look, and a word at a time skips them in an eighth of the
/// steps.
enum JSONStringBytes {
    /// Whether any of the eight bytes in `word` is a control character, `"`, `\` or not ASCII
    /// (the classic test for a zero byte, `(v - 0x01…) & ~v & 0x80…`, for each). Never false
    /// when one is; a byte at a time tells which.
    @inline(__always)
    static func mayNeedALook(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let control = word &- ones &* 0x20
        let found = (control & ~word) | ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | word
        return found & highBits != 0
    }

    /// The offset of the first word of `bytes`, from `start` on, that may hold such a byte, or
    /// of the last few bytes that make no whole word: where to go on a byte at a time.
    @inline(__always)
    static func plainWords(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let base = bytes.baseAddress else { return start }
        var position = start
        while position + 8 <= bytes.count,
            !mayNeedALook(UnsafeRawPointer(base).loadUnaligned(fromByteOffset: position, as: UInt64.self))
        {
            position += 8
        }
        return position
    }
}

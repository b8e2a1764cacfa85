/// Bytes appended into memory of their own, which doubles when it runs out.
///
/// For the bytes written for every delivery (the history's JSON, the request's header lines for
/// libcurl): an append to an array costs a uniqueness and a capacity check and a generic copy,
/// about 100 instructions, and a summary made twenty of them.
struct ByteBuffer: ~Copyable {
    /// Where the bytes start; moves when the buffer grows.
    private(set) var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// The bytes written so far.
    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    /// Forgets the bytes, keeping the memory.
    mutating func removeAll() { count = 0 }

    // The appends are inlined where they are called, as private ones in the writer's own file
    // were: called, the single byte's cost 700 instructions an event more (callgrind).

    /// Makes room for `extra` more bytes.
    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(toHold: count + extra) }
    }

    private mutating func grow(toHold needed: Int) {
        let grown = max(capacity * 2, needed)
        let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        larger.update(from: base, count: count)
        base.deallocate()
        base = larger
        capacity = grown
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    /// Appends `length` bytes that `write` puts in place from the pointer it is given.
    @inline(__always)
    mutating func append(count length: Int, writing write: (UnsafeMutablePointer<UInt8>) -> Void) {
        reserve(length)
        write(base + count)
        count += length
    }
}

import PostCallCCurl

/// A request's header lines as libcurl's `curl_slist`, built in memory that one transfer keeps
/// from request to request: `curl_slist_append` allocated a node and copied the line for every
/// header of every request, and `curl_slist_free_all` freed them all again.
///
/// libcurl only reads the list (while the transfer runs) and never frees it. The lines are
/// linked once all are in, since the text moves when it grows.
final class HeaderList {
    private var text: UnsafeMutablePointer<CChar>
    private var textCapacity = 512
    private var textCount = 0
    private var nodes: UnsafeMutablePointer<curl_slist>
    private var nodeCapacity = 8
    /// Where each line starts in `text`.
    private var lineStarts: [Int] = []

    init() {
        text = .allocate(capacity: textCapacity)
        nodes = .allocate(capacity: nodeCapacity)
    }

    deinit {
        text.deallocate()
        nodes.deallocate()
    }

    /// Forgets every line, keeping the memory.
    func removeAll() {
        textCount = 0
        lineStarts.removeAll(keepingCapacity: true)
    }

    /// Adds `name: value`.
    func append(name: String, value: String) {
        lineStarts.append(textCount)
        write(name.utf8)
        write(": ".utf8)
        write(value.utf8)
        write(CollectionOfOne(0))
    }

    /// Adds `line` as it is (`Expect:` to send no such header).
    func append(line: String) {
        lineStarts.append(textCount)
        write(line.utf8)
        write(CollectionOfOne(0))
    }

    /// The lines linked as a list, `nil` for none; valid until the next change.
    func list() -> UnsafeMutablePointer<curl_slist>? {
        guard !lineStarts.isEmpty else { return nil }
        if lineStarts.count > nodeCapacity {
            nodes.deallocate()
            nodeCapacity = max(lineStarts.count, nodeCapacity * 2)
            nodes = .allocate(capacity: nodeCapacity)
        }
        for (index, start) in lineStarts.enumerated() {
            let next = index + 1 < lineStarts.count ? nodes + index + 1 : nil
            (nodes + index).initialize(to: curl_slist(data: text + start, next: next))
        }
        return nodes
    }

    private func write(_ bytes: some Collection<UInt8>) {
        let needed = textCount + bytes.count
        if needed > textCapacity {
            let grown = UnsafeMutablePointer<CChar>.allocate(capacity: max(needed, textCapacity * 2))
            grown.update(from: text, count: textCount)
            text.deallocate()
            text = grown
            textCapacity = max(needed, textCapacity * 2)
        }
        let copied: Void? = bytes.withContiguousStorageIfAvailable { source in
            guard let start = source.baseAddress else { return }
            UnsafeMutableRawPointer(text + textCount).copyMemory(from: start, byteCount: source.count)
        }
        if copied == nil {
            for (offset, byte) in bytes.enumerated() { text[textCount + offset] = CChar(bitPattern: byte) }
        }
        textCount = needed
    }
}

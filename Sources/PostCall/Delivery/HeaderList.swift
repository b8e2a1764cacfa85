import PostCallCCurl

/// A request's header lines as libcurl's `curl_slist`, built in memory that one transfer keeps
/// from request to request: `curl_slist_append` allocated a node and copied the line for every
/// header of every request, and `curl_slist_free_all` freed them all again.
///
/// libcurl only reads the list (while the transfer runs) and never frees it. The lines are
/// linked once all are in, since the text moves when it grows.
final class HeaderList {
    private var text = ByteBuffer(capacity: 512)
    private var nodes: UnsafeMutablePointer<curl_slist>
    private var nodeCapacity = 8
    /// Where each line starts in `text`.
    private var lineStarts: [Int] = []

    init() {
        nodes = .allocate(capacity: nodeCapacity)
    }

    deinit {
        nodes.deallocate()
    }

    /// Forgets every line, keeping the memory.
    func removeAll() {
        text.removeAll()
        lineStarts.removeAll(keepingCapacity: true)
    }

    /// Adds `name: value`.
    func append(name: String, value: String) {
        lineStarts.append(text.count)
        write(name)
        write(": ")
        write(value)
        text.append(0)
    }

    /// Adds `line` as it is (`Expect:` to send no such header).
    func append(line: String) {
        lineStarts.append(text.count)
        write(line)
        text.append(0)
    }

    /// The lines linked as a list, `nil` for none; valid until the next change.
    func list() -> UnsafeMutablePointer<curl_slist>? {
        guard !lineStarts.isEmpty else { return nil }
        if lineStarts.count > nodeCapacity {
            nodes.deallocate()
            nodeCapacity = max(lineStarts.count, nodeCapacity * 2)
            nodes = .allocate(capacity: nodeCapacity)
        }
        // libcurl reads each line as a C string.
        let lines = UnsafeMutableRawPointer(text.base).assumingMemoryBound(to: CChar.self)
        for (index, start) in lineStarts.enumerated() {
            let next = index + 1 < lineStarts.count ? nodes + index + 1 : nil
            (nodes + index).initialize(to: curl_slist(data: lines + start, next: next))
        }
        return nodes
    }

    private func write(_ string: String) {
        var string = string
        string.withUTF8 { text.append($0) }
    }
}

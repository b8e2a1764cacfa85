/// Where a page of history ends, in its newest-first order (creation time, then id). Pages
/// continue from a cursor instead of an offset, so the thousandth page costs what the first does.
public struct HistoryCursor: Sendable, Equatable {
    public var createdAt: Milliseconds
    public var id: Int64

    public init(createdAt: Milliseconds, id: Int64) {
        self.createdAt = createdAt
        self.id = id
    }

    /// The cursor as it travels in a URL: `<created_at ms>.<id>`.
    public var token: String { "\(createdAt).\(id)" }

    /// Reads ``token``; `nil` for anything else.
    public init?(token: String) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let createdAt = Milliseconds(parts[0]), let id = Int64(parts[1]), createdAt >= 0, id > 0 else {
            return nil
        }
        self.init(createdAt: createdAt, id: id)
    }
}

/// One page of ``OutboxStore/historyPage(matching:)``.
public struct HistoryPage: Sendable {
    public var events: [EventSummary]
    /// Where the next page starts; `nil` on the last page.
    public var next: HistoryCursor?
}

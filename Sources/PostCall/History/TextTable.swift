/// Left-aligned columns for terminal output.
public struct TextTable {
    public var header: [String]
    public var rows: [[String]] = []

    public init(header: [String]) { self.header = header }

    public mutating func append(_ row: [String]) { rows.append(row) }

    /// The table with each column as wide as its widest cell; the last column is not padded.
    public func render() -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padded(to: widths[column])
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

extension String {
    /// The string cut to `length` characters with an ellipsis, on one line, for table cells.
    public func truncatedForTable(_ length: Int) -> String {
        let oneLine = String(map { $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 })
        return oneLine.count <= length ? oneLine : String(oneLine.prefix(max(0, length - 1))) + "…"
    }
}

import PostCall

/// Deliveries and failures per hour as an SVG bar chart, drawn on the server: no script.
enum DeliveryChart {
    static let width = 960
    static let height = 220
    private static let left = 48
    private static let bottom = 28
    private static let top = 12

    static func render(_ activity: DeliveryActivity) -> HTML {
        let hours = activity.hours
        guard !hours.isEmpty else { return .empty }
        let peak = max(1, hours.map { max($0.delivered, $0.failed) }.max() ?? 1)
        let scale = niceCeiling(peak)
        let plotWidth = width - left - 8
        let plotHeight = height - bottom - top
        let slot = plotWidth / hours.count
        let barWidth = max(2, (slot - 4) / 2)

        var shapes: [HTML] = []
        for step in 0...4 {
            let value = scale * step / 4
            let y = top + plotHeight - plotHeight * step / 4
            shapes.append(
                """
                <line x1="\(left)" y1="\(y)" x2="\(width - 8)" y2="\(y)" stroke="#d0d7de"/>\
                <text x="\(left - 6)" y="\(y + 4)" text-anchor="end" font-size="11" fill="#57606a">\(value)</text>
                """)
        }
        for (index, hour) in hours.enumerated() {
            let x = left + index * slot + 2
            let label = Timestamp.rfc3339(hour.start)
            let hourText = String(label.dropFirst(11).prefix(5))
            for (offset, count, colour, what) in [(0, hour.delivered, "#1a7f37", "delivered"), (barWidth, hour.failed, "#cf222e", "failed")] {
                let barHeight = count == 0 ? 0 : max(1, plotHeight * count / scale)
                shapes.append(
                    """
                    <rect class="\(what)" x="\(x + offset)" y="\(top + plotHeight - barHeight)" width="\(barWidth)" height="\(barHeight)" fill="\(colour)">\
                    <title>\(hourText) UTC: \(count) \(what)</title></rect>
                    """)
            }
            if index % 3 == 0 {
                shapes.append(
                    "<text x=\"\(x)\" y=\"\(height - 10)\" font-size=\"11\" fill=\"#57606a\">\(hourText)</text>")
            }
        }
        return """
            <svg class="chart" viewBox="0 0 \(width) \(height)" role="img" aria-label="Attempts per hour over the last \(hours.count) hours: delivered in green, failed in red" xmlns="http://www.w3.org/2000/svg">\(shapes)</svg>
            """
    }

    /// The smallest of 1, 2, 5 × 10^n not below `value`, so the axis reads in round numbers.
    static func niceCeiling(_ value: Int) -> Int {
        var magnitude = 1
        while true {
            for step in [1, 2, 5] where step * magnitude >= value { return step * magnitude }
            magnitude *= 10
        }
    }
}

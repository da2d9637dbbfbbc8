import Foundation

/// Charts drawn as SVG by pure functions: given these points, these shapes. Pages embed the result
/// inline, so charts need no script and no network, and read at a glance: a few horizontal grid
/// lines with round values, labelled ends of the x axis, one colour per series with a legend.
public enum SVGChart {
    /// One line of a line chart: y values at increasing x positions (any unit, e.g. seconds).
    public struct Series: Sendable, Equatable {
        public var name: String
        public var points: [(x: Double, y: Double)]

        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }

        public static func == (a: Series, b: Series) -> Bool {
            a.name == b.name && a.points.elementsEqual(b.points) { $0.x == $1.x && $0.y == $1.y }
        }
    }

    /// Colours for series, in order; chosen to stay distinct for the colour-blind.
    public static let palette = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2"]

    public static let width = 640.0
    public static let height = 220.0
    static let left = 56.0, right = 12.0, top = 12.0, bottom = 28.0

    /// Round steps for the y axis: 1, 2 or 5 times a power of ten, about four lines to the top.
    public static func yTicks(max: Double) -> [Double] {
        guard max > 0, max.isFinite else { return [0] }
        let rough = max / 4
        let power = pow10(floor(log10(rough)))
        let step = [1.0, 2.0, 5.0, 10.0].map { $0 * power }.first { $0 >= rough } ?? rough
        var ticks: [Double] = []
        var value = 0.0
        while value < max + step * 0.999 {
            ticks.append(value)
            value += step
        }
        return ticks
    }

    /// A line chart. `xLabel` names an x value (a time, say); `yLabel` a y value. `xRange`, when
    /// given, is the span of the x axis (a whole period, though its points are few).
    public static func line(
        _ series: [Series], xLabel: (Double) -> String, yLabel: (Double) -> String, title: String, xRange: (Double, Double)? = nil
    ) -> HTML {
        let xs = series.flatMap { $0.points.map(\.x) }
        let ys = series.flatMap { $0.points.map(\.y) }
        guard var minX = xs.min(), var maxX = xs.max() else {
            return "<p class=\"empty\">No data for \(title) in this period.</p>"
        }
        if let xRange {
            minX = Swift.min(minX, xRange.0)
            maxX = Swift.max(maxX, xRange.1)
        }
        let ticks = yTicks(max: ys.max() ?? 0)
        let topValue = ticks.last ?? 1
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func px(_ x: Double) -> Double { maxX == minX ? left + plotWidth / 2 : left + (x - minX) / (maxX - minX) * plotWidth }
        func py(_ y: Double) -> Double { topValue <= 0 ? top + plotHeight : top + plotHeight - y / topValue * plotHeight }

        var parts: [HTML] = []
        for tick in ticks {
            let y = format(py(tick))
            parts.append("<line class=\"grid\" x1=\"\(format(left))\" x2=\"\(format(width - right))\" y1=\"\(y)\" y2=\"\(y)\"/>")
            parts.append("<text class=\"axis\" x=\"\(format(left - 6))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(yLabel(tick))</text>")
        }
        let labelY = format(height - 8)
        parts.append("<text class=\"axis\" x=\"\(format(left))\" y=\"\(labelY)\" text-anchor=\"start\">\(xLabel(minX))</text>")
        if maxX > minX {
            parts.append("<text class=\"axis\" x=\"\(format(width - right))\" y=\"\(labelY)\" text-anchor=\"end\">\(xLabel(maxX))</text>")
        }
        for (index, line) in series.enumerated() {
            let colour = palette[index % palette.count]
            let points = line.points.map { "\(format(px($0.x))),\(format(py($0.y)))" }.joined(separator: " ")
            if line.points.count == 1, let only = line.points.first {
                parts.append("<circle cx=\"\(format(px(only.x)))\" cy=\"\(format(py(only.y)))\" r=\"3\" fill=\"\(colour)\"><title>\(line.name)</title></circle>")
            } else {
                parts.append("<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(points)\"><title>\(line.name)</title></polyline>")
            }
        }
        // A colour as an SVG fill, not a style attribute: the dashboard's CSP allows no inline style.
        let legend: [HTML] = series.enumerated().map { index, line in
            "<li><svg class=\"swatch\" width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\" fill=\"\(palette[index % palette.count])\"/></svg>\(line.name)</li>"
        }
        return """
            <figure class="chart"><figcaption>\(title)</figcaption>\
            <svg viewBox="0 0 \(format(width)) \(format(height))" role="img" aria-label="\(title)">\(parts)</svg>\
            <ul class="legend">\(legend)</ul></figure>
            """
    }

    /// Horizontal bars, largest first as given: for "top models by cost" and the like.
    public static func bars(_ items: [(label: String, value: Double)], valueLabel: (Double) -> String, title: String) -> HTML {
        guard let largest = items.map(\.value).max(), largest > 0 else {
            return "<p class=\"empty\">No data for \(title) in this period.</p>"
        }
        let rowHeight = 22.0, labelWidth = 180.0, valueWidth = 90.0
        let barSpace = width - labelWidth - valueWidth
        var parts: [HTML] = []
        for (index, item) in items.enumerated() {
            let y = Double(index) * rowHeight
            let barWidth = Swift.max(1, item.value / largest * barSpace)
            parts.append("<text class=\"axis\" x=\"\(format(labelWidth - 6))\" y=\"\(format(y + 15))\" text-anchor=\"end\">\(truncated(item.label, 28))</text>")
            parts.append("<rect x=\"\(format(labelWidth))\" y=\"\(format(y + 4))\" width=\"\(format(barWidth))\" height=\"14\" fill=\"\(palette[0])\"><title>\(item.label)</title></rect>")
            parts.append("<text class=\"axis\" x=\"\(format(labelWidth + barWidth + 6))\" y=\"\(format(y + 15))\">\(valueLabel(item.value))</text>")
        }
        let total = Double(items.count) * rowHeight
        return """
            <figure class="chart"><figcaption>\(title)</figcaption>\
            <svg viewBox="0 0 \(format(width)) \(format(total))" role="img" aria-label="\(title)">\(parts)</svg></figure>
            """
    }

    /// Coordinates with at most one decimal, so the SVG is short and tests can name exact shapes.
    static func format(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    static func truncated(_ text: String, _ count: Int) -> String {
        text.count <= count ? text : String(text.prefix(count - 1)) + "…"
    }

    private static func pow10(_ exponent: Double) -> Double {
        var result = 1.0
        if exponent >= 0 { for _ in 0..<Int(exponent) { result *= 10 } } else { for _ in 0..<Int(-exponent) { result /= 10 } }
        return result
    }
}

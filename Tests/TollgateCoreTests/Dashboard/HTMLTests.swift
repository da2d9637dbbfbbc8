import Testing
import TollgateCore

@Suite struct HTMLTests {
    @Test("text from an answer is shown as text: tags, quotes and ampersands are escaped")
    func interpolatedTextIsEscaped() {
        let reply = #"<script>alert("x")</script><img src=x onerror='alert(1)'> & co"#
        let cell: HTML = "<td title=\"\(reply)\">\(reply)</td>"
        #expect(cell.markup == #"<td title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt; &amp; co">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt; &amp; co</td>"#)
    }

    @Test("HTML pieces nest without being escaped twice")
    func nestedHTMLIsKept() {
        let inner: HTML = "<b>\("a<b")</b>"
        let outer: HTML = "<p>\(inner)\([inner, inner])</p>"
        #expect(outer.markup == "<p><b>a&lt;b</b><b>a&lt;b</b><b>a&lt;b</b></p>")
    }
}

@Suite struct SVGChartTests {
    @Test("the y axis gets round steps up to at least the largest value")
    func roundTicks() {
        #expect(SVGChart.yTicks(max: 0.93) == [0, 0.5, 1.0])
        #expect(SVGChart.yTicks(max: 7) == [0, 2, 4, 6, 8])
        #expect(SVGChart.yTicks(max: 1200) == [0, 500, 1000, 1500])
        #expect(SVGChart.yTicks(max: 0) == [0])
    }

    @Test("a line chart draws each series through its points on a 0-to-top scale, with its legend")
    func lineShapes() {
        let chart = SVGChart.line(
            [.init(name: "gpt-4o-mini", points: [(0, 0), (60, 4), (120, 8)])],
            xLabel: { "t\(Int($0))" }, yLabel: { "\(Int($0)) ms" }, title: "Latency p50"
        ).markup
        // x from 56 to 628 (width 640, margins 56 and 12); y from 192 (0) up to 12 (8, the top tick).
        #expect(chart.contains(#"points="56,192 342,102 628,12""#))
        #expect(chart.contains(">t0</text>") && chart.contains(">t120</text>"))
        #expect(chart.contains(">8 ms</text>") && chart.contains(">0 ms</text>"))
        #expect(chart.contains(##"<li><svg class="swatch" width="10" height="10"><rect width="10" height="10" fill="#2563eb"/></svg>gpt-4o-mini</li>"##))
        #expect(!chart.contains("style="), "the dashboard's CSP allows no inline style")
    }

    @Test("a model name with markup in a chart stays text")
    func chartLabelsEscaped() {
        let chart = SVGChart.bars([("<img onerror=x>", 2), ("b", 1)], valueLabel: { "$\($0)" }, title: "Cost").markup
        #expect(!chart.contains("<img"))
        #expect(chart.contains("&lt;img onerror=x&gt;"))
        // The largest bar spans the bar area (640 - 180 - 90 = 370); the other is half of it.
        #expect(chart.contains(#"width="370""#) && chart.contains(#"width="185""#))
    }

    @Test("no points gives a sentence, not an empty frame")
    func emptyChart() {
        #expect(SVGChart.line([], xLabel: { _ in "" }, yLabel: { _ in "" }, title: "Calls").markup == #"<p class="empty">No data for Calls in this period.</p>"#)
    }
}

@Suite struct FormQueryTests {
    @Test("the Requests filter form's query reads as the browser meant it: + is a space, %2B a plus, and it round-trips")
    func formDecoding() {
        let decoded = DashboardPages.formDecoded("user_id=ann+lee&model=gpt-4o%2Bmini&property_name=&x")
        #expect(decoded.map(\.0) == ["user_id", "model", "property_name", "x"])
        #expect(decoded.map(\.1) == ["ann lee", "gpt-4o+mini", "", ""])
        let pairs = [("user_id", "a b+c/ü&="), ("model", "m")]
        #expect(DashboardPages.formDecoded(DashboardPages.formEncoded(pairs)).elementsEqual(pairs, by: ==))
    }
}

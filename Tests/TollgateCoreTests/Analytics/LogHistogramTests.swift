import Foundation
import Testing
import TollgateCore

@Suite struct LogHistogramTests {
    /// A deterministic generator, so the data is the same on every run.
    struct Generator {
        var state: UInt64
        mutating func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
    }

    static func exact(_ sorted: [Double], _ q: Double) -> Double {
        sorted[max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1)]
    }

    @Test("percentiles of real-shaped latencies are within 2% of the exact ones")
    func quantilesWithinTwoPercent() throws {
        // A latency mix: most calls 300–900 ms, a tail of slow ones up to a minute, some cache-fast.
        var random = Generator(state: 42)
        var values: [Double] = []
        for _ in 0..<20_000 {
            let u = random.next()
            let v: Double
            if u < 0.05 { v = 0.2 + random.next() * 2 } else if u < 0.9 { v = 300 + random.next() * 600 } else { v = 900 * exp(random.next() * 4.2) }
            values.append(v)
        }
        var histogram = LogHistogram()
        for v in values { histogram.add(v) }
        let sorted = values.sorted()
        for q in [0.5, 0.9, 0.95, 0.99, 0.999] {
            let exact = Self.exact(sorted, q)
            let approximate = try #require(histogram.quantile(q))
            #expect(abs(approximate - exact) / exact <= 0.02, "p\(q * 100): \(approximate) against \(exact)")
        }
        #expect(histogram.count == 20_000)
        #expect(histogram.buckets.count < 400, "sparse: \(histogram.buckets.count) buckets")
    }

    @Test("histograms merged from parts answer like one built from everything")
    func mergeEqualsWhole() {
        var random = Generator(state: 7)
        var whole = LogHistogram(), parts = [LogHistogram(), LogHistogram(), LogHistogram()]
        for i in 0..<3000 {
            let v = 1 + random.next() * 5000
            whole.add(v)
            parts[i % 3].add(v)
        }
        var merged = LogHistogram()
        for part in parts { merged.merge(part) }
        #expect(merged == whole)
        #expect(merged.quantile(0.95) == whole.quantile(0.95))
    }

    @Test("the stored text form reads back to the same histogram; zero and tiny values count in the zero bucket")
    func encodedRoundTrip() throws {
        var histogram = LogHistogram()
        for v in [0, 0.0001, 0.5, 1.5, 1.5, 250, 60_000] { histogram.add(v) }
        let decoded = try #require(LogHistogram(encoded: histogram.encoded))
        #expect(decoded == histogram)
        #expect(histogram.zeroCount == 2)
        #expect(histogram.quantile(0.25) == 0)
        #expect(LogHistogram(encoded: "garbage") == nil)
        #expect(LogHistogram(encoded: "z:1;3:x") == nil)
        #expect(LogHistogram(encoded: "z:0;") == LogHistogram())
        #expect(LogHistogram().quantile(0.5) == nil)
        // The text form stored rows hold: zeros, then index:count ascending, negative indexes signed.
        var small = LogHistogram()
        for v in [0, 0.5, 1.5, 1.5] { small.add(v) }
        #expect(small.encoded == "z:1;-17:1,11:2")
        #expect(LogHistogram().encoded == "z:0;")
    }

    @Test("histograms of far-apart values merge and subtract back to what they were; a stored row with an impossible index is refused, not allocated")
    func disjointRangesAndDamagedRows() throws {
        var low = LogHistogram(), high = LogHistogram()
        for v in [0.01, 0.02, 0.5] { low.add(v) }
        for v in [90_000.0, 1e15] { high.add(v) }
        var both = low
        both.merge(high)
        #expect(both.count == 5)
        #expect(both.quantile(1) == LogHistogram.value(of: LogHistogram.index(of: 1e12)), "values past 10^12 count in the top bucket")
        var reversed = high
        reversed.merge(low)
        #expect(reversed == both)
        both.subtract(high)
        #expect(both == low)
        both.subtract(low)
        #expect(both == LogHistogram() && both.encoded == "z:0;")
        #expect(LogHistogram(encoded: "z:0;-2000000000:1,2000000000:1") == nil)
        #expect(LogHistogram(encoded: "z:0;5:0,7:2") == LogHistogram(encoded: "z:0;7:2"))
    }
}

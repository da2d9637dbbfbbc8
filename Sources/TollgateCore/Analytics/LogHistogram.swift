import Foundation

/// A mergeable histogram of positive values (latencies in ms, tokens per second) whose quantiles
/// are within `relativeAccuracy` (2%) of the exact ones, whatever the data: DDSketch's fixed
/// logarithmic buckets. A value `v` falls in bucket `i = ceil(log(v) / log(γ))` with
/// `γ = (1 + α) / (1 - α)`, and a bucket answers with `2γ^i / (γ + 1)`, at most `α` away from any
/// value in it. Buckets are the same everywhere, so histograms of different minutes, models or
/// instances merge by adding counts: that is what lets analytics keep them per time bucket and
/// dimension as calls are recorded, and answer a month as the sum of its hours.
///
/// Values at or below `minimum` (0.001) count in one zero bucket; values above `maximum` (10^12)
/// in the top one. Counts are kept for the range of buckets between the lowest and the highest
/// hit, in one array: a histogram of one call is one count, and the widest (10^-3 to 10^12) is
/// under 900. Merging adds two arrays, without hashing: the recorder merges thousands a second.
public struct LogHistogram: Sendable, Equatable {
    public static let relativeAccuracy = 0.02
    static let gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy)
    static let logGamma = log(gamma)
    static let minimum = 0.001
    static let maximum = 1e12

    /// The index of `counts[0]`; 0 when there are none. `counts` never starts or ends with a 0.
    private var offset: Int32 = 0
    private var counts: [Int64] = []
    public private(set) var zeroCount: Int64 = 0

    public init() {}

    /// Bucket index → count, for the buckets that were hit.
    public var buckets: [Int32: Int64] {
        var out: [Int32: Int64] = [:]
        for (i, count) in counts.enumerated() where count != 0 { out[offset + Int32(i)] = count }
        return out
    }

    public var count: Int64 { counts.reduce(zeroCount, +) }
    public var isEmpty: Bool { zeroCount == 0 && counts.isEmpty }

    /// Every index a value can fall in.
    static let indexes = index(of: minimum.nextUp)...index(of: maximum)

    public static func index(of value: Double) -> Int32 {
        Int32(ceil(log(min(value, maximum)) / logGamma))
    }

    /// The value a bucket stands for: within `relativeAccuracy` of every value in it.
    public static func value(of index: Int32) -> Double {
        2 * pow(gamma, Double(index)) / (gamma + 1)
    }

    public mutating func add(_ value: Double, count: Int64 = 1) {
        guard value.isFinite else { return }
        if value <= Self.minimum {
            zeroCount += count
        } else {
            add(index: Self.index(of: value), count: count)
        }
    }

    /// Makes room for `low...high` and adds to one bucket.
    private mutating func add(index: Int32, count: Int64) {
        cover(index, index)
        counts[Int(index - offset)] += count
    }

    /// Widens `counts` to take in buckets `low...high`.
    private mutating func cover(_ low: Int32, _ high: Int32) {
        if counts.isEmpty {
            offset = low
            counts = Array(repeating: 0, count: Int(high - low) + 1)
            return
        }
        if low < offset {
            counts.insert(contentsOf: repeatElement(0, count: Int(offset - low)), at: 0)
            offset = low
        }
        let top = offset + Int32(counts.count) - 1
        if high > top { counts.append(contentsOf: repeatElement(0, count: Int(high - top))) }
    }

    public mutating func merge(_ other: LogHistogram) {
        zeroCount += other.zeroCount
        guard !other.counts.isEmpty else { return }
        cover(other.offset, other.offset + Int32(other.counts.count) - 1)
        let shift = Int(other.offset - offset)
        counts.withUnsafeMutableBufferPointer { mine in
            other.counts.withUnsafeBufferPointer { theirs in
                for i in 0..<theirs.count { mine[shift + i] += theirs[i] }
            }
        }
    }

    /// Takes away a histogram that was merged into this one; buckets left empty are dropped.
    public mutating func subtract(_ other: LogHistogram) {
        zeroCount = max(0, zeroCount - other.zeroCount)
        for (i, count) in other.counts.enumerated() where count != 0 {
            let at = Int(other.offset + Int32(i) - offset)
            guard counts.indices.contains(at) else { continue }
            counts[at] = max(0, counts[at] - count)
        }
        trim()
    }

    /// Drops the zero counts at both ends.
    private mutating func trim() {
        guard let first = counts.firstIndex(where: { $0 != 0 }), let last = counts.lastIndex(where: { $0 != 0 }) else {
            counts = []
            offset = 0
            return
        }
        if first > 0 || last < counts.count - 1 {
            counts = Array(counts[first...last])
            offset += Int32(first)
        }
    }

    /// The value at quantile `q` (0...1) by the nearest-rank rule; nil when empty.
    public func quantile(_ q: Double) -> Double? {
        let total = count
        guard total > 0 else { return nil }
        let rank = max(1, Int64((q * Double(total)).rounded(.up)))
        var seen = zeroCount
        if seen >= rank { return 0 }
        for (i, count) in counts.enumerated() {
            seen += count
            if seen >= rank { return Self.value(of: offset + Int32(i)) }
        }
        return counts.isEmpty ? nil : Self.value(of: offset + Int32(counts.count) - 1)
    }

    /// A compact text form for storage: `z:<zeros>;<index>:<count>,…` (indexes ascending).
    /// Written byte by byte: every batch the recorder writes re-encodes the histograms of the
    /// analytics rows it touches (string interpolation per bucket was 9% of the gateway's CPU).
    public var encoded: String {
        var out: [UInt8] = []
        out.reserveCapacity(8 + counts.count * 10)
        out.append(UInt8(ascii: "z"))
        out.append(UInt8(ascii: ":"))
        Self.appendDecimal(zeroCount, to: &out)
        out.append(UInt8(ascii: ";"))
        var first = true
        for (i, count) in counts.enumerated() where count != 0 {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            Self.appendDecimal(Int64(offset) + Int64(i), to: &out)
            out.append(UInt8(ascii: ":"))
            Self.appendDecimal(count, to: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[n] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                n += 1
            } while magnitude > 0
            while n > 0 {
                n -= 1
                out.append(buffer[n])
            }
        }
    }

    public init?(encoded: String) {
        // Read byte by byte: answers merge thousands of these per query.
        var text = encoded
        guard let parsed = text.withUTF8({ Self.parse($0) }) else { return nil }
        self = parsed
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> LogHistogram? {
        guard bytes.count >= 3, bytes[0] == UInt8(ascii: "z"), bytes[1] == UInt8(ascii: ":") else { return nil }
        var histogram = LogHistogram()
        var i = 2
        func number() -> Int64? {
            var negative = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") {
                negative = true
                i += 1
            }
            let start = i
            var value: Int64 = 0
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
                value = value &* 10 &+ Int64(bytes[i] - 48)
                i += 1
            }
            return i > start ? (negative ? -value : value) : nil
        }
        guard let zeros = number(), i < bytes.count, bytes[i] == UInt8(ascii: ";") else { return nil }
        histogram.zeroCount = zeros
        i += 1
        while i < bytes.count {
            guard let index = number(), i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            guard let count = number(), let index32 = Int32(exactly: index) else { return nil }
            // Indexes a value between `minimum` and `maximum` can have, nothing wider: a damaged
            // row must not make a histogram of billions of counts.
            guard Self.indexes.contains(index32) else { return nil }
            if count > 0 { histogram.add(index: index32, count: count) }
            if i < bytes.count {
                guard bytes[i] == UInt8(ascii: ",") else { return nil }
                i += 1
            }
        }
        return histogram
    }
}

import Foundation

/// A mergeable histogram of positive values (latencies in ms, tokens per second) whose quantiles
/// are within `relativeAccuracy` (2%) of the exact ones, whatever the data: DDSketch's fixed
/// logarithmic buckets. A value `v` falls in bucket `i = ceil(log(v) / log(γ))` with
/// `γ = (1 + α) / (1 - α)`, and a bucket answers with `2γ^i / (γ + 1)`, at most `α` away from any
/// value in it. Buckets are the same everywhere, so histograms of different minutes, models or
/// instances merge by adding counts: that is what lets analytics keep them per time bucket and
/// dimension as calls are recorded, and answer a month as the sum of its hours.
///
/// Values at or below `minimum` (0.001) count in one zero bucket. Storage is sparse: only the
/// buckets that were hit, so a histogram of one call is one entry.
public struct LogHistogram: Sendable, Equatable {
    public static let relativeAccuracy = 0.02
    static let gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy)
    static let logGamma = log(gamma)
    static let minimum = 0.001

    /// Bucket index → count.
    public private(set) var buckets: [Int32: Int64] = [:]
    public private(set) var zeroCount: Int64 = 0

    public init() {}

    public var count: Int64 { buckets.values.reduce(zeroCount, +) }
    public var isEmpty: Bool { zeroCount == 0 && buckets.isEmpty }

    public static func index(of value: Double) -> Int32 {
        Int32(ceil(log(value) / logGamma))
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
            buckets[Self.index(of: value), default: 0] += count
        }
    }

    public mutating func merge(_ other: LogHistogram) {
        zeroCount += other.zeroCount
        for (index, count) in other.buckets { buckets[index, default: 0] += count }
    }

    /// Takes away a histogram that was merged into this one; buckets left empty are dropped.
    public mutating func subtract(_ other: LogHistogram) {
        zeroCount = max(0, zeroCount - other.zeroCount)
        for (index, count) in other.buckets {
            let left = (buckets[index] ?? 0) - count
            buckets[index] = left > 0 ? left : nil
        }
    }

    /// The value at quantile `q` (0...1) by the nearest-rank rule; nil when empty.
    public func quantile(_ q: Double) -> Double? {
        let total = count
        guard total > 0 else { return nil }
        let rank = max(1, Int64((q * Double(total)).rounded(.up)))
        var seen = zeroCount
        if seen >= rank { return 0 }
        for index in buckets.keys.sorted() {
            seen += buckets[index]!
            if seen >= rank { return Self.value(of: index) }
        }
        return buckets.keys.max().map(Self.value(of:))
    }

    /// A compact text form for storage: `z:<zeros>;<index>:<count>,…` (indexes ascending).
    /// Written byte by byte: every batch the recorder writes re-encodes the histograms of the
    /// analytics rows it touches (string interpolation per bucket was 9% of the gateway's CPU).
    public var encoded: String {
        var out: [UInt8] = []
        out.reserveCapacity(8 + buckets.count * 10)
        out.append(UInt8(ascii: "z"))
        out.append(UInt8(ascii: ":"))
        Self.appendDecimal(zeroCount, to: &out)
        out.append(UInt8(ascii: ";"))
        var first = true
        for index in buckets.keys.sorted() {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            Self.appendDecimal(Int64(index), to: &out)
            out.append(UInt8(ascii: ":"))
            Self.appendDecimal(buckets[index]!, to: &out)
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
        histogram.buckets.reserveCapacity(bytes.count / 6)
        while i < bytes.count {
            guard let index = number(), i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            guard let count = number(), let index32 = Int32(exactly: index) else { return nil }
            histogram.buckets[index32, default: 0] += count
            if i < bytes.count {
                guard bytes[i] == UInt8(ascii: ",") else { return nil }
                i += 1
            }
        }
        return histogram
    }
}

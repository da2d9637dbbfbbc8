import Foundation

/// What analytics keep about a set of calls: sums that add, and histograms that merge
/// (``LogHistogram``), so the figures of two buckets, values or gateways combine exactly.
public struct AnalyticsFigures: Sendable, Equatable {
    public var calls: Int64 = 0
    /// Calls answered with status 400 or more, or that failed (no answer, cut off).
    public var errors: Int64 = 0
    public var promptTokens: Int64 = 0
    public var completionTokens: Int64 = 0
    public var totalTokens: Int64 = 0
    /// The priced calls' cost; calls with usage but no price are counted in `unpriced`.
    public var costUSD: Double = 0
    public var unpriced: Int64 = 0
    public var cacheHits: Int64 = 0
    public var latency = LogHistogram()
    public var timeToFirstToken = LogHistogram()
    /// The gateway's own share of the latency.
    public var overhead = LogHistogram()
    public var outputTokensPerSecond = LogHistogram()

    public init() {}

    /// The figures of one call.
    public init(_ record: RequestRecord) {
        calls = 1
        errors = record.status >= 400 || record.error != nil ? 1 : 0
        if let usage = record.usage {
            promptTokens = Int64(usage.inputTokens)
            completionTokens = Int64(usage.outputTokens)
            totalTokens = Int64(usage.totalTokens)
            if record.costUSD == nil { unpriced = 1 }
        }
        costUSD = record.costUSD ?? 0
        cacheHits = record.cacheHit ? 1 : 0
        latency.add(record.latencyMs)
        if let ttft = record.timeToFirstTokenMs { timeToFirstToken.add(ttft) }
        if let overheadMs = record.overheadMs { overhead.add(overheadMs) }
        if let rate = Self.outputTokensPerSecond(record) { outputTokensPerSecond.add(rate) }
    }

    /// Completion tokens over the time they took to arrive: first token to last byte for a
    /// stream, the whole upstream time (else the latency) otherwise. Nil for cache hits, failed
    /// calls and calls with no output tokens.
    public static func outputTokensPerSecond(_ record: RequestRecord) -> Double? {
        guard !record.cacheHit, record.error == nil, record.status < 400, let tokens = record.usage?.outputTokens, tokens > 0 else { return nil }
        var ms = record.upstreamLatencyMs ?? record.latencyMs
        if let ttft = record.timeToFirstTokenMs, record.latencyMs - ttft > 0 { ms = record.latencyMs - ttft }
        guard ms > 0 else { return nil }
        return Double(tokens) / (ms / 1000)
    }

    public var isEmpty: Bool { calls == 0 }

    public mutating func merge(_ other: AnalyticsFigures) {
        calls += other.calls
        errors += other.errors
        promptTokens += other.promptTokens
        completionTokens += other.completionTokens
        totalTokens += other.totalTokens
        costUSD += other.costUSD
        unpriced += other.unpriced
        cacheHits += other.cacheHits
        latency.merge(other.latency)
        timeToFirstToken.merge(other.timeToFirstToken)
        overhead.merge(other.overhead)
        outputTokensPerSecond.merge(other.outputTokensPerSecond)
    }

    /// Takes away figures that were merged into these (the calls of some values from a total).
    public mutating func subtract(_ other: AnalyticsFigures) {
        calls -= other.calls
        errors -= other.errors
        promptTokens -= other.promptTokens
        completionTokens -= other.completionTokens
        totalTokens -= other.totalTokens
        costUSD -= other.costUSD
        unpriced -= other.unpriced
        cacheHits -= other.cacheHits
        latency.subtract(other.latency)
        timeToFirstToken.subtract(other.timeToFirstToken)
        overhead.subtract(other.overhead)
        outputTokensPerSecond.subtract(other.outputTokensPerSecond)
    }

    /// The fields of SPEC §8 (`count` … `overhead_p99_ms`), in API order.
    public var fields: [(String, JSONValue)] {
        func number(_ value: Double?) -> JSONValue { value.map { .number(($0 * 1000).rounded() / 1000) } ?? .null }
        func int(_ value: Int64) -> JSONValue { .number(Double(value)) }
        return [
            ("count", int(calls)), ("error_count", int(errors)), ("prompt_tokens", int(promptTokens)),
            ("completion_tokens", int(completionTokens)), ("total_tokens", int(totalTokens)),
            ("cost_usd", .number(costUSD)), ("unpriced_count", int(unpriced)), ("cache_hits", int(cacheHits)),
            ("latency_p50_ms", number(latency.quantile(0.50))), ("latency_p90_ms", number(latency.quantile(0.90))),
            ("latency_p95_ms", number(latency.quantile(0.95))), ("latency_p99_ms", number(latency.quantile(0.99))),
            ("time_to_first_token_p50_ms", number(timeToFirstToken.quantile(0.50))),
            ("time_to_first_token_p95_ms", number(timeToFirstToken.quantile(0.95))),
            ("output_tokens_per_second_p50", number(outputTokensPerSecond.quantile(0.50))),
            ("overhead_p50_ms", number(overhead.quantile(0.50))), ("overhead_p99_ms", number(overhead.quantile(0.99))),
        ]
    }
}

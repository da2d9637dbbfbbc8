import Foundation
import Testing
import TollgateCore

/// Analytics as pure functions: which rows a call lands in, how rows merge, the bounded
/// cardinality rule, which rows answer a range, and percentiles against exact values.
@Suite struct AnalyticsTests {
    typealias Generator = LogHistogramTests.Generator

    static let t0 = ISO8601DateFormatter().date(from: "2026-11-02T12:34:56Z")!

    static func call(
        at date: Date = t0, project: String = "p", model: String? = "gpt-4o-mini", provider: String = "openai", status: Int = 200,
        user: String? = "alice", properties: [Property] = [], tokens: (Int, Int)? = (100, 20), cost: Double? = 0.001,
        latency: Double = 500, ttft: Double? = nil, overhead: Double? = 1, cacheHit: Bool = false, error: String? = nil
    ) -> RequestRecord {
        RequestRecord(
            id: UUID(), project: project, createdAt: date, method: "POST", path: "/v1/chat/completions", provider: provider, model: model,
            status: status, stream: ttft != nil, userID: user, properties: properties, sessionID: nil, sessionPath: nil, sessionName: nil,
            usage: tokens.map { TokenUsage(inputTokens: $0.0, outputTokens: $0.1) }, costUSD: cost, latencyMs: latency,
            timeToFirstTokenMs: ttft, upstreamLatencyMs: overhead.map { latency - $0 }, overheadMs: overhead, cacheHit: cacheHit,
            requestBytes: 100, responseBytes: 100, error: error
        )
    }

    static func micros(_ iso: String) -> Int64 { StoredMicros.of(ISO8601DateFormatter().date(from: iso)!) }

    @Test("a call counts in its minute, hour and day, under every dimension it has, and nowhere else")
    func bucketing() {
        let rows = AnalyticsRollup.rollup([Self.call(properties: [Property(name: "Environment", value: "prod")])])
        let starts = Set(rows.keys.map { "\($0.group.resolution) \(ISO8601Micros.format($0.group.bucket))" })
        #expect(starts == ["minute 2026-11-02T12:34:00Z", "hour 2026-11-02T12:00:00Z", "day 2026-11-02T00:00:00Z"])
        let minute = rows.filter { $0.key.group.resolution == .minute }
        #expect(Set(minute.keys.map { "\($0.group.dimension)=\($0.value)" })
            == ["none=", "model=gpt-4o-mini", "provider=openai", "status=200", "user=alice", "property.environment=prod"])
        #expect(rows.values.allSatisfy { $0.calls == 1 && $0.promptTokens == 100 && $0.completionTokens == 20 && $0.costUSD == 0.001 })
        // No user and no model count under "" (answered as group null); an untagged call has no property row.
        let bare = AnalyticsRollup.rollup([Self.call(model: nil, user: nil)])
        #expect(bare.keys.contains { $0.group.dimension == "user" && $0.value == "" })
        #expect(!bare.keys.contains { $0.group.dimension.hasPrefix("property.") })
    }

    @Test("errors, unpriced calls, cache hits and tokens per second are counted as the API defines them")
    func figuresOfOneCall() throws {
        #expect(AnalyticsFigures(Self.call(status: 429)).errors == 1)
        #expect(AnalyticsFigures(Self.call(error: "upstream timed out")).errors == 1)
        #expect(AnalyticsFigures(Self.call(cost: nil)).unpriced == 1)
        // No usage at all (an error answer): not "unpriced", there was nothing to price.
        #expect(AnalyticsFigures(Self.call(tokens: nil, cost: nil)).unpriced == 0)
        #expect(AnalyticsFigures(Self.call(cacheHit: true)).cacheHits == 1)
        // A stream: 200 output tokens from first token (400 ms) to the end (2,400 ms) = 100 tokens/s.
        let stream = Self.call(tokens: (50, 200), latency: 2400, ttft: 400)
        #expect(AnalyticsFigures.outputTokensPerSecond(stream) == 100)
        // Not streamed: 20 tokens over the upstream's 499 ms.
        let rate = try #require(AnalyticsFigures.outputTokensPerSecond(Self.call()))
        #expect(abs(rate - 20 / 0.499) < 1e-9)
        #expect(AnalyticsFigures.outputTokensPerSecond(Self.call(cacheHit: true)) == nil)
    }

    @Test("rows of parts of a batch merged together equal the rows of the whole batch")
    func mergeEqualsWhole() {
        var random = Generator(state: 3)
        var calls: [RequestRecord] = []
        for i in 0..<600 {
            calls.append(Self.call(
                at: Self.t0.addingTimeInterval(Double(i) * 7), model: ["gpt-4o", "claude-sonnet-4"][i % 2], user: "u\(i % 9)",
                latency: 100 + random.next() * 3000, ttft: i % 3 == 0 ? 50 + random.next() * 500 : nil
            ))
        }
        let whole = AnalyticsRollup.rollup(calls)
        var merged: [AnalyticsKey: AnalyticsFigures] = [:]
        for part in [calls[..<200], calls[200..<450], calls[450...]] {
            for (key, figures) in AnalyticsRollup.rollup(part) { merged[key, default: AnalyticsFigures()].merge(figures) }
        }
        #expect(merged.count == whole.count)
        for (key, figures) in whole {
            let other = merged[key]
            #expect(other?.calls == figures.calls && other?.latency == figures.latency && other?.timeToFirstToken == figures.timeToFirstToken)
            #expect(abs((other?.costUSD ?? 0) - figures.costUSD) < 1e-12)
        }
    }

    @Test("percentiles answered from per-minute rows merged over a day are within 2% of the exact ones")
    func percentilesFromMergedRows() throws {
        // Real-shaped: log-normal latencies around 800 ms with a long tail, TTFT a fifth of that,
        // spread over a day in batches of 50 calls, each batch rolled up as the recorder does.
        var random = Generator(state: 11)
        func normal() -> Double { sqrt(-2 * log(max(random.next(), 1e-12))) * cos(2 * .pi * random.next()) }
        var latencies: [Double] = [], ttfts: [Double] = []
        var store: [AnalyticsKey: AnalyticsFigures] = [:]
        var batch: [RequestRecord] = []
        let start = Self.t0.addingTimeInterval(-12 * 3600)
        for i in 0..<20_000 {
            let latency = exp(log(800) + 0.6 * normal())
            let ttft = latency * (0.1 + 0.2 * random.next())
            latencies.append(latency)
            ttfts.append(ttft)
            batch.append(Self.call(at: start.addingTimeInterval(Double(i) * 4.32), latency: latency, ttft: ttft))
            if batch.count == 50 {
                for (key, figures) in AnalyticsRollup.rollup(batch) { store[key, default: AnalyticsFigures()].merge(figures) }
                batch = []
            }
        }
        var day = AnalyticsFigures()
        for (key, figures) in store where key.group.resolution == .minute && key.group.dimension == "none" { day.merge(figures) }
        #expect(day.calls == 20_000)
        let sortedLatency = latencies.sorted(), sortedTTFT = ttfts.sorted()
        for q in [0.5, 0.9, 0.95, 0.99] {
            let exact = LogHistogramTests.exact(sortedLatency, q)
            let approximate = try #require(day.latency.quantile(q))
            #expect(abs(approximate - exact) / exact <= 0.02, "latency p\(q * 100): \(approximate) against \(exact)")
        }
        for q in [0.5, 0.95] {
            let exact = LogHistogramTests.exact(sortedTTFT, q)
            let approximate = try #require(day.timeToFirstToken.quantile(q))
            #expect(abs(approximate - exact) / exact <= 0.02, "ttft p\(q * 100): \(approximate) against \(exact)")
        }
        // The day rows (the 24 hours span two dates) say the same as the minutes merged.
        var days = AnalyticsFigures()
        for (key, figures) in store where key.group.resolution == .day && key.group.dimension == "none" { days.merge(figures) }
        #expect(days.latency == day.latency && days.timeToFirstToken == day.timeToFirstToken)
    }

    @Test("a group keeps a row for at most the cap of values; further values, busiest first kept, fold into other")
    func boundedCardinality() throws {
        let group = AnalyticsGroup(resolution: .minute, bucket: Self.micros("2026-11-02T12:34:00Z"), project: "p", dimension: "user")
        func figures(_ calls: Int64) -> AnalyticsFigures {
            var f = AnalyticsFigures()
            f.calls = calls
            f.costUSD = Double(calls)
            return f
        }
        let cap = AnalyticsResolution.minute.distinctValueCap
        // The group already holds cap-1 values, one of them "known", and an other row of 5 calls.
        var stored = AnalyticsRollup.Stored()
        stored.valueCounts[group] = cap - 1
        stored.rows[AnalyticsKey(group: group, value: "known")] = figures(2)
        stored.rows[AnalyticsKey(group: group, value: AnalyticsDimension.otherValue)] = figures(5)
        let batch: [AnalyticsKey: AnalyticsFigures] = [
            AnalyticsKey(group: group, value: "known"): figures(1),
            AnalyticsKey(group: group, value: "small"): figures(1),
            AnalyticsKey(group: group, value: "busy"): figures(3),
            AnalyticsKey(group: group, value: "tiny"): figures(1),
        ]
        let written = Dictionary(uniqueKeysWithValues: AnalyticsRollup.merge(batch, into: stored).map { ($0.0.value, $0.1) })
        #expect(written["known"]?.calls == 3, "a value with a row adds to it")
        #expect(written["busy"]?.calls == 3, "the one free place goes to the busiest new value")
        #expect(written["small"] == nil && written["tiny"] == nil)
        #expect(written[AnalyticsDimension.otherValue]?.calls == 7, "5 stored + small + tiny")
        #expect(written.values.reduce(0) { $0 + $1.calls } == 13, "no call lost: 2 + 5 stored, 6 new")
    }

    @Test("a day of 1 million calls from 100,000 users stays within the stated rows per day")
    func rowsPerDayBound() {
        // One hour of that day (41,667 calls), users drawn at random from 100,000 and one
        // property with a value per conversation, written batch by batch into a dictionary
        // standing in for the table, as the stores do.
        var random = Generator(state: 5)
        var table: [AnalyticsKey: AnalyticsFigures] = [:]
        var batch: [RequestRecord] = []
        let hour = Self.t0.addingTimeInterval(-34 * 60 - 56)
        let models = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "claude-haiku-4", "o3"]
        func flush() {
            let rows = AnalyticsRollup.rollup(batch)
            var stored = AnalyticsRollup.Stored()
            for key in rows.keys {
                stored.rows[key] = table[key]
                let other = AnalyticsKey(group: key.group, value: AnalyticsDimension.otherValue)
                stored.rows[other] = table[other]
            }
            for group in Set(rows.keys.map(\.group)) {
                stored.valueCounts[group] = table.keys.filter { $0.group == group && $0.value != AnalyticsDimension.otherValue }.count
            }
            for (key, figures) in AnalyticsRollup.merge(rows, into: stored) { table[key] = figures }
            batch = []
        }
        for i in 0..<41_667 {
            let user = "user-\(Int(random.next() * 100_000))"
            batch.append(Self.call(
                at: hour.addingTimeInterval(Double(i) * 3600 / 41_667), model: models[i % 5], provider: i % 5 < 2 ? "openai" : "anthropic",
                status: [200, 200, 200, 429, 500][i % 5 == 3 ? Int(random.next() * 5) : 0], user: user,
                properties: [Property(name: "conversation", value: "c-\(i / 3)")]
            ))
            if batch.count == 500 { flush() }
        }
        flush()
        let minuteRows = table.keys.filter { $0.group.resolution == .minute }.count
        let hourRows = table.keys.filter { $0.group.resolution == .hour }.count
        // Per minute: none 1, models 5, providers 2, statuses 3, users 20 + other, conversations 20 + other.
        let perMinute = 53, perHour = 213  // 11 + 21 + 21, and 11 + 101 + 101
        #expect(minuteRows <= 60 * perMinute, "\(minuteRows) minute rows")
        #expect(hourRows <= perHour, "\(hourRows) hour rows")
        // So a day is at most 1,440 × 53 + 24 × 213 + (11 + 1001 + 1001) = 83,445 rows (README).
        let perDay: Int = 1440 * perMinute + 24 * perHour + 2013
        #expect(perDay == 83_445)
        // And nothing was lost to the cap: every dimension's rows add up to every call.
        for dimension in ["none", "user", "property.conversation", "model"] {
            let calls = table.filter { $0.key.group.resolution == .hour && $0.key.group.dimension == dimension }.reduce(0) { $0 + $1.value.calls }
            #expect(calls == 41_667, "\(dimension)")
        }
    }

    @Test("a range is read as minutes at its ends, hours next to them and whole days between")
    func rangePieces() {
        let now = Self.micros("2026-11-10T00:00:00Z")
        let pieces = AnalyticsRange.pieces(since: Self.micros("2026-11-08T10:17:30Z"), until: Self.micros("2026-11-09T20:42:10Z"), now: now)
        #expect(pieces == [
            .init(.minute, Self.micros("2026-11-08T10:17:00Z"), Self.micros("2026-11-08T11:00:00Z")),
            .init(.hour, Self.micros("2026-11-08T11:00:00Z"), Self.micros("2026-11-09T20:00:00Z")),
            .init(.minute, Self.micros("2026-11-09T20:00:00Z"), Self.micros("2026-11-09T20:43:00Z")),
        ])
        let month = AnalyticsRange.pieces(since: Self.micros("2026-10-01T00:00:00Z"), until: Self.micros("2026-11-09T20:42:10Z"), now: now)
        #expect(month.map(\.resolution) == [.day, .hour, .minute])
        #expect(month[0] == .init(.day, Self.micros("2026-10-01T00:00:00Z"), Self.micros("2026-11-09T00:00:00Z")))
        // Older than two days, minute rows are gone: the range widens to whole hours there.
        let old = AnalyticsRange.pieces(since: Self.micros("2026-11-01T10:17:30Z"), until: Self.micros("2026-11-01T12:30:00Z"), now: now)
        #expect(old == [.init(.hour, Self.micros("2026-11-01T10:00:00Z"), Self.micros("2026-11-01T13:00:00Z"))])
        #expect(AnalyticsRange.pieces(since: 5, until: 5, now: now).isEmpty)
        #expect(AnalyticsRange.pieces(since: 9, until: 5, now: now).isEmpty)
    }

    @Test("grouping by a property also answers the calls without it, as all calls less the tagged ones")
    func absentPropertyGroup() throws {
        let calls = [
            Self.call(properties: [Property(name: "env", value: "prod")], cost: 0.5, latency: 100),
            Self.call(properties: [Property(name: "env", value: "dev")], cost: 0.25, latency: 200),
            Self.call(cost: 0.125, latency: 300),
        ]
        let table = AnalyticsRollup.rollup(calls)
        func rows(_ dimension: String) -> [AnalyticsAnswer.Row] {
            table.filter { $0.key.group.resolution == .hour && $0.key.group.dimension == dimension }
                .map { AnalyticsAnswer.Row(resolution: .hour, bucket: $0.key.group.bucket, value: $0.key.value, figures: $0.value) }
        }
        let lines = AnalyticsAnswer.lines(rows("property.env"), totals: rows("none"), query: AnalyticsQuery(grouping: .property("env")))
        #expect(lines.map(\.group) == ["prod", "dev", nil])
        let untagged = try #require(lines.last?.figures)
        #expect(untagged.calls == 1 && untagged.costUSD == 0.125)
        #expect(untagged.latency.quantile(0.5).map { abs($0 - 300) / 300 <= 0.02 } == true)
    }

    @Test("a filtered value read with its dimension's other rows is exact only where it has a row of its own")
    func exactness() {
        func row(_ bucket: Int64, _ value: String) -> AnalyticsAnswer.Row {
            AnalyticsAnswer.Row(resolution: .hour, bucket: bucket, value: value, figures: AnalyticsFigures())
        }
        #expect(AnalyticsAnswer.isExact([row(1, "alice"), row(2, "alice"), row(2, AnalyticsDimension.otherValue)], value: "alice"))
        #expect(!AnalyticsAnswer.isExact([row(1, "alice"), row(2, AnalyticsDimension.otherValue)], value: "alice"))
    }

    @Test("filters and grouping on one dimension read its rows; on two, the matching calls")
    func plans() {
        let now = Self.t0
        var query = AnalyticsQuery(grouping: .model)
        guard case .aggregates(.model, nil, _, false) = query.plan(now: now) else { Issue.record("group by model"); return }
        query.filters = [(.model, "gpt-4o")]
        guard case .aggregates(.model, "gpt-4o", _, false) = query.plan(now: now) else { Issue.record("same dimension"); return }
        query.filters = [(.user, "alice")]
        #expect(query.plan(now: now) == .scan)
        query.grouping = .none
        guard case .aggregates(.user, "alice", _, false) = query.plan(now: now) else { Issue.record("filter only"); return }
        query.grouping = .property("env")
        query.filters = []
        guard case .aggregates(.property("env"), nil, _, true) = query.plan(now: now) else { Issue.record("property totals"); return }
    }

    @Test("bucket starts are written as ISO 8601 UTC")
    func isoFormat() {
        #expect(ISO8601Micros.format(Self.micros("2026-11-02T12:34:00Z")) == "2026-11-02T12:34:00Z")
        #expect(ISO8601Micros.format(0) == "1970-01-01T00:00:00Z")
        #expect(ISO8601Micros.format(Self.micros("2024-02-29T23:59:59Z")) == "2024-02-29T23:59:59Z")
    }
}

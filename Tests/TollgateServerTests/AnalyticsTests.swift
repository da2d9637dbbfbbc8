import Foundation
import Testing
import TollgateCore
@testable import TollgateServer

/// The analytics API on the store the tests run on (SQLite, or PostgreSQL when
/// TOLLGATE_TEST_POSTGRES_URL is set): aggregates written with each batch, answered without
/// reading the calls, bounded, and not lost when two gateways share the database.
@Suite("Analytics")
struct AnalyticsStoreTests {
    static func call(
        at date: Date, project: String = "default", model: String = "gpt-4o-mini", user: String? = "alice",
        properties: [Property] = [], status: Int = 200, cost: Double? = 0.00024, latency: Double = 500, ttft: Double? = nil
    ) -> StoredExchange {
        let record = RequestRecord(
            id: UUID(), project: project, createdAt: date, method: "POST", path: "/v1/chat/completions", provider: "openai",
            model: model, status: status, stream: ttft != nil, userID: user, properties: properties, sessionID: nil, sessionPath: nil,
            sessionName: nil, usage: TokenUsage(inputTokens: 1000, outputTokens: 200), costUSD: cost, latencyMs: latency,
            timeToFirstTokenMs: ttft, upstreamLatencyMs: latency - 2, overheadMs: 2, requestBytes: 2, responseBytes: 2, error: nil
        )
        return StoredExchange(record: record, bodies: StoredBodies(request: nil, response: nil, reconstructedResponse: nil))
    }

    static func lines(_ store: any RecordStore, _ parameters: [(String, String)], timeseries: Bool = false, now: Date = Date()) async throws -> [AnalyticsLine] {
        try await StatsAPI.lines(try StatsAPI.parse(parameters, timeseries: timeseries), store: store, now: now)
    }

    @Test("stats and timeseries count each group's calls, tokens, cost and latency from the rows written with each batch")
    func groupsAndTimeseries() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        let hour = AnalyticsResolution.hour.floor(StoredMicros.of(Date())) - 3 * 3_600_000_000
        let base = StoredMicros.date(hour)
        // Three hours ago: alice 3 calls on gpt-4o-mini (env prod), bob 1 on gpt-4o (429); an hour later alice 2 more.
        try await store.insert([
            Self.call(at: base.addingTimeInterval(60), properties: [Property(name: "Env", value: "prod")], latency: 400),
            Self.call(at: base.addingTimeInterval(61), properties: [Property(name: "Env", value: "prod")], latency: 500),
            Self.call(at: base.addingTimeInterval(125), latency: 600, ttft: 100),
            Self.call(at: base.addingTimeInterval(130), model: "gpt-4o", user: "bob", status: 429, cost: nil, latency: 50),
        ])
        try await store.insert([
            Self.call(at: base.addingTimeInterval(3_700)), Self.call(at: base.addingTimeInterval(3_800), project: "other"),
        ])
        let all = try await Self.lines(store, [])
        #expect(all.count == 1)
        #expect(all[0].group == nil && all[0].figures.calls == 6 && all[0].figures.errors == 1 && all[0].figures.unpriced == 1)
        // The records carry the cost the recorder would give them ($0.00024, see overHTTP); 5 are priced.
        #expect(abs(all[0].figures.costUSD - 5 * 0.00024) < 1e-12)

        let byModel = try await Self.lines(store, [("group_by", "model"), ("project", "default")])
        #expect(byModel.map(\.group) == ["gpt-4o-mini", "gpt-4o"])
        #expect(byModel.map(\.figures.calls) == [4, 1])
        let p50 = try #require(byModel[0].figures.latency.quantile(0.5))
        #expect(abs(p50 - 500) / 500 <= 0.02, "p50 of 400, 500, 600, 500: \(p50)")

        let byEnv = try await Self.lines(store, [("group_by", "property.env")])
        // Most cost first: the 4 untagged calls (3 priced) before the 2 tagged prod.
        #expect(byEnv.map(\.group) == [nil, "prod"])
        #expect(byEnv.map(\.figures.calls) == [4, 2])
        let byStatus = try await Self.lines(store, [("group_by", "status")])
        #expect(Set(byStatus.map(\.group)) == ["200", "429"])

        // A filter on the grouped dimension reads that value's rows; on another, the matching calls.
        let bob = try await Self.lines(store, [("user_id", "bob")])
        #expect(bob.map(\.figures.calls) == [1])
        let aliceByModel = try await Self.lines(store, [("user_id", "alice"), ("group_by", "model")])
        #expect(aliceByModel.map(\.group) == ["gpt-4o-mini"] && aliceByModel[0].figures.calls == 5)

        // Hourly, oldest first: the first hour's 4 calls, then the next hour's 2.
        let series = try await Self.lines(store, [("interval", "hour"), ("since", ISO8601.format(base))], timeseries: true)
        #expect(series.map(\.figures.calls) == [4, 2])
        #expect(series.map(\.bucket) == [hour, hour + 3_600_000_000])
        let minutes = try await Self.lines(store, [("interval", "minute"), ("since", ISO8601.format(base)), ("group_by", "user")], timeseries: true)
        #expect(minutes.prefix(3).map { "\($0.group ?? "-") \($0.figures.calls)" } == ["alice 2", "alice 1", "bob 1"])
        // A range in the past holds nothing.
        #expect(try await Self.lines(store, [("until", ISO8601.format(base))]).isEmpty)
    }

    @Test("with more users in a minute than the cap, the rest fold into one other row, and a folded user's own figures are still exact")
    func boundedUsers() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        let minute = StoredMicros.date(AnalyticsResolution.minute.floor(StoredMicros.of(Date())) - 120_000_000)
        let cap = AnalyticsResolution.minute.distinctValueCap
        // cap + 10 users in one minute, written in three batches.
        let calls = (0..<(cap + 10)).map { Self.call(at: minute.addingTimeInterval(Double($0) / 100), user: "user-\($0)") }
        for chunk in [calls[..<10], calls[10..<(cap + 2)], calls[(cap + 2)...]] { try await store.insert(Array(chunk)) }
        let minuteRows = try await store.analyticsRows(dimension: "user", values: nil, project: nil, pieces: [.init(.minute, StoredMicros.of(minute), StoredMicros.of(minute) + 60_000_000)])
        #expect(minuteRows.count == cap + 1, "cap values and other")
        #expect(minuteRows.first { $0.value == AnalyticsDimension.otherValue }?.figures.calls == 10)
        let range = [("since", ISO8601.format(minute)), ("until", ISO8601.format(minute.addingTimeInterval(60)))]
        let byUser = try await Self.lines(store, range + [("group_by", "user")])
        #expect(byUser.count == cap + 1 && byUser.last?.isOther == true && byUser.last?.json["group"]?.stringValue == "(other)")
        #expect(byUser.reduce(0) { $0 + $1.figures.calls } == Int64(cap + 10))
        // The last user was folded in the minute rows: asked about alone, its calls are counted one by one.
        let last = try await Self.lines(store, range + [("user_id", "user-\(cap + 9)")])
        #expect(last.map(\.figures.calls) == [1])
    }

    @Test("two gateways writing to one database at once lose none of each other's counts")
    func concurrentWriters() async throws {
        let (first, second) = try await Self.twoGateways()
        defer { DeliveryHandoffTests.close(first); DeliveryHandoffTests.close(second) }
        let now = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in [first, second] {
                group.addTask {
                    for i in 0..<25 {
                        try await store.insert((0..<8).map { Self.call(at: now.addingTimeInterval(-Double(i)), user: "u\($0)") })
                    }
                }
            }
            try await group.waitForAll()
        }
        let total = try await Self.lines(first, [])
        #expect(total.map(\.figures.calls) == [400])
        let byUser = try await Self.lines(second, [("group_by", "user")])
        #expect(byUser.count == 8 && byUser.allSatisfy { $0.figures.calls == 50 })
        #expect(byUser.allSatisfy { $0.figures.latency.count == 50 }, "histograms merged, not overwritten")
    }

    /// Two stores on one database, as two gateways sharing it have.
    static func twoGateways() async throws -> (SQLStore, SQLStore) {
        let config = TestGateway.testConfig()
        try FileManager.default.createDirectory(atPath: config.storage.path, withIntermediateDirectories: true)
        let first = try Gateway.openStore(config, logger: RunningServer.quietLogger)
        try await first.migrate()
        return (first, try Gateway.openStore(config, logger: RunningServer.quietLogger))
    }

    static func total(_ store: any RecordStore) async throws -> Int64 {
        try await Self.lines(store, []).map(\.figures.calls).reduce(0, +)
    }

    @Test("calls written while more were waiting are in the stats after the next batch, each once, whichever way a batch is written again after a lost commit")
    func deferredAnalyticsCountOnce() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        let now = Date()
        let batches = (0..<5).map { b in (0..<4).map { Self.call(at: now.addingTimeInterval(-Double(b * 4 + $0)), user: "u\($0)") } }
        // Left pending, then written again as a retry would after a lost answer: still pending once.
        try await store.insert(batches[0], moreWaiting: true)
        try await store.insert(batches[0], moreWaiting: true)
        // Merged now, with the pending batch.
        try await store.insert(batches[1], moreWaiting: false)
        #expect(try await Self.total(store) == 8)
        // Merged, then written again with more waiting: its calls are stored and counted already.
        try await store.insert(batches[2], moreWaiting: false)
        try await store.insert(batches[2], moreWaiting: true)
        // Left pending, then written again with nothing waiting: the retry counts the first write's calls.
        try await store.insert(batches[3], moreWaiting: true)
        try await store.insert(batches[3], moreWaiting: false)
        try await store.insert(batches[4], moreWaiting: false)
        #expect(try await Self.total(store) == 20)
        let byUser = try await Self.lines(store, [("group_by", "user")])
        #expect(byUser.map(\.figures.calls) == [5, 5, 5, 5])
        #expect(byUser.allSatisfy { $0.figures.latency.count == 5 })
        // The recorder out of calls merges what waits, with no batch of its own.
        try await store.insert([Self.call(at: now, user: "u9")], moreWaiting: true)
        try await store.mergeAnalytics()
        #expect(try await Self.total(store) == 21)
        // An unpriced call written twice (the first answer lost) is listed once.
        let unpriced = Self.call(at: now, model: "mystery-2", user: "u8", cost: nil)
        try await store.insert([unpriced], moreWaiting: true)
        try await store.insert([unpriced], moreWaiting: false)
        #expect(try await store.unpricedModels(project: "default").map { "\($0.model ?? "-") \($0.calls)" } == ["mystery-2 1"])
        #expect(try await Self.total(store) == 22)
        #expect(try await store.mergePendingAnalytics(writtenBefore: Date().addingTimeInterval(60)) == 0, "nothing left pending")
    }

    @Test("calls a stopped gateway left pending are counted by the next gateway to start, once, even if the first one merges later")
    func pendingAnalyticsAreAdopted() async throws {
        let (first, second) = try await Self.twoGateways()
        defer { DeliveryHandoffTests.close(first); DeliveryHandoffTests.close(second) }
        let now = Date()
        try await first.insert((0..<6).map { Self.call(at: now.addingTimeInterval(-Double($0)), model: "gpt-4o", cost: 0.001) }, moreWaiting: true)
        #expect(try await Self.total(second) == 0, "the calls wait for a later batch of the first gateway")
        #expect(try await second.mergePendingAnalytics(writtenBefore: Date().addingTimeInterval(1)) == 1)
        let byModel = try await Self.lines(second, [("group_by", "model")])
        #expect(byModel.map(\.group) == ["gpt-4o"])
        #expect(byModel.first?.figures.calls == 6)
        #expect(abs((byModel.first?.figures.costUSD ?? 0) - 0.006) < 1e-12)
        // The first gateway's next merge finds its pending batch taken and does not count it again.
        try await first.insert([Self.call(at: now)], moreWaiting: false)
        #expect(try await Self.total(first) == 7)
    }

    @Test("retention deletes minute rows after two days and every row older than the records")
    func sweep() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        let now = Date()
        try await store.insert([Self.call(at: now.addingTimeInterval(-3 * 86400)), Self.call(at: now.addingTimeInterval(-60))])
        let sweeper = RetentionSweeper(store: store, settings: .init(recordsMaxAge: nil, deliveryLogsMaxAge: nil), logger: RunningServer.quietLogger)
        await sweeper.sweep()
        let pieces = AnalyticsResolution.allCases.map { AnalyticsRange.Piece($0, 0, StoredMicros.of(now) + 86_400_000_000) }
        let rows = try await store.analyticsRows(dimension: "none", values: nil, project: nil, pieces: pieces)
        #expect(rows.filter { $0.resolution == .minute }.count == 1, "the old call's minute row is gone")
        #expect(rows.filter { $0.resolution == .day }.reduce(0) { $0 + $1.figures.calls } == 2, "its day row stays")
        let strict = RetentionSweeper(store: store, settings: .init(recordsMaxAge: 86400, deliveryLogsMaxAge: nil), logger: RunningServer.quietLogger)
        await strict.sweep()
        let left = try await store.analyticsRows(dimension: "none", values: nil, project: nil, pieces: pieces)
        #expect(left.allSatisfy { $0.figures.calls == 1 } && left.count == 3, "only the recent call's minute, hour and day rows")
    }

    @Test("the HTTP API answers SPEC §8's fields, scoped to a project admin key's project; costs are the published prices")
    func overHTTP() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let gateway = try await TestGateway.start(provider: provider) { config in
            config.auth.gatewayKeys = [.init(key: "gk-a", project: "a"), .init(key: "gk-b", project: "b")]
            config.admin.projectKeys = [.init(key: "admin-a", project: "a")]
        }
        for (key, user) in [("gk-a", "alice"), ("gk-a", "alice"), ("gk-a", "bob"), ("gk-b", "carol")] {
            let reply = try await gateway.send(.POST, "/v1/chat/completions", body: "{}", headers: [
                ("Helicone-Auth", "Bearer \(key)"), ("Helicone-User-Id", user), ("Helicone-Property-Team", "search"),
            ])
            _ = try await gateway.record(try #require(reply.headers.first(name: "helicone-id")))
        }
        let scoped = try #require(try await gateway.admin("/v1/stats?group_by=user", key: "admin-a").json?["data"] as? [[String: Any]])
        #expect(scoped.map { $0["group"] as? String } == ["alice", "bob"])
        // gpt-4o-mini-2024-07-18 at $0.15 per million input, $0.075 cached input, $0.60 output:
        // 600 × 0.15e-6 + 400 × 0.075e-6 + 200 × 0.60e-6 = $0.00009 + $0.00003 + $0.00012 = $0.00024 a call.
        #expect(abs((scoped[0]["cost_usd"] as? Double ?? 0) - 2 * 0.00024) < 1e-12)
        let fields = ["count", "error_count", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd", "unpriced_count", "cache_hits",
                      "latency_p50_ms", "latency_p90_ms", "latency_p95_ms", "latency_p99_ms", "time_to_first_token_p50_ms",
                      "time_to_first_token_p95_ms", "output_tokens_per_second_p50", "overhead_p50_ms", "overhead_p99_ms"]
        #expect(fields.allSatisfy { scoped[0].keys.contains($0) }, "\(scoped[0].keys.sorted())")
        #expect(scoped[0]["total_tokens"] as? Int == 2400)
        let global = try #require(try await gateway.admin("/v1/stats?group_by=property.team").json?["data"] as? [[String: Any]])
        #expect(global.map { $0["count"] as? Int } == [4])
        let series = try #require(try await gateway.admin("/v1/stats/timeseries?interval=hour&group_by=model", key: "admin-a").json?["data"] as? [[String: Any]])
        #expect(series.map { $0["group"] as? String } == ["gpt-4o-mini-2024-07-18"] && series[0]["count"] as? Int == 3)
        #expect((series[0]["bucket"] as? String)?.hasSuffix(":00Z") == true)
        let top = try #require(try await gateway.admin("/v1/stats?group_by=user&limit=1", key: "admin-a").json?["data"] as? [[String: Any]])
        #expect(top.map { $0["group"] as? String } == ["alice"], "limit keeps the costliest group")
        #expect(try await gateway.admin("/v1/stats/timeseries?interval=week").status == 400)
        #expect(try await gateway.admin("/v1/stats?group_by=colour").status == 400)
        #expect(try await gateway.admin("/v1/stats/timeseries?interval=minute&since=2020-01-01T00:00:00Z").status == 400, "too many buckets")
        try await gateway.stop()
        try await provider.stop()
    }
}

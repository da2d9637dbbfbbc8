import Foundation
import Testing
import TollgateCore
@testable import TollgateServer

/// What every store must do, whatever the engine: the test command runs this suite on SQLite,
/// then again on PostgreSQL (TOLLGATE_TEST_POSTGRES_URL set: a fresh schema per store).
@Suite("Store contract")
struct StoreContractTests {
    /// A time that survives the store's microseconds exactly.
    static func time(_ secondsAfterBase: Double) -> Date {
        StoredTime.date(StoredTime.micros(Date(timeIntervalSince1970: 1_764_000_000 + secondsAfterBase)))!
    }

    static func record(
        at seconds: Double, project: String = "default", model: String? = "gpt-4o-mini", status: Int = 200, user: String? = nil,
        properties: [Property] = [], usage: TokenUsage? = nil, cost: Double? = nil
    ) -> RequestRecord {
        RequestRecord(
            id: UUID(), project: project, createdAt: time(seconds), method: "POST", path: "/v1/chat/completions", provider: "openai",
            model: model, status: status, stream: false, userID: user, properties: properties, sessionID: nil, sessionPath: nil,
            sessionName: nil, usage: usage, costUSD: cost, latencyMs: 100 + seconds, timeToFirstTokenMs: nil, requestBytes: 2,
            responseBytes: 2, error: nil
        )
    }

    static func exchange(_ record: RequestRecord, deliveries: [NewDelivery] = []) -> StoredExchange {
        StoredExchange(record: record, bodies: StoredBodies(request: Array("{}".utf8), response: Array("{}".utf8), reconstructedResponse: nil), deliveries: deliveries)
    }

    @Test("a batch comes back exactly as written: every field, properties, bodies and scores")
    func batchRoundTrips() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        var full = Self.record(
            at: 1, user: "alice", properties: [Property(name: "Environment", value: "prod"), Property(name: "app", value: "ünï <b>")],
            usage: TokenUsage(inputTokens: 1200, outputTokens: 300, cacheReadTokens: 200, cacheWrite5mTokens: 50, reasoningTokens: 40), cost: 0.00123
        )
        full.stream = true
        full.sessionID = "s-1"
        full.sessionPath = "/a/b"
        full.sessionName = "Session"
        full.timeToFirstTokenMs = 42.5
        full.upstreamLatencyMs = 95.25
        full.overheadMs = 5.75
        full.responseTruncated = true
        full.cacheHit = true
        full.costSavedUSD = 0.0042
        full.attempts = [
            Attempt(url: "http://127.0.0.1:9/v1/chat/completions", status: nil, durationMs: 1.5, error: "upstream_unreachable: refused"),
            Attempt(url: "https://api.example/v1/chat/completions", status: 503, durationMs: 20.25, response: #"{"error":"busy ü"}"#),
            Attempt(url: "https://api.example/v1/chat/completions", status: 200, durationMs: 80),
        ]
        full.fallbackIndex = 1
        full.error = "upstream_failed: reset after 10 bytes"
        let bare = Self.record(at: 2, model: nil, status: 502)
        let reconstructed = Array(#"{"choices":[]}"#.utf8)
        try await store.insert([
            StoredExchange(record: full, bodies: StoredBodies(request: Array(#"{"a":1}"#.utf8), response: [0, 255, 10], reconstructedResponse: reconstructed)),
            StoredExchange(record: bare, bodies: StoredBodies(request: nil, response: nil, reconstructedResponse: nil)),
        ])
        #expect(try await store.record(id: full.id) == full)
        #expect(try await store.record(id: bare.id) == bare)
        #expect(try await store.bodies(id: full.id) == StoredBodies(request: Array(#"{"a":1}"#.utf8), response: [0, 255, 10], reconstructedResponse: reconstructed))
        #expect(try await store.bodies(id: bare.id) == StoredBodies(request: nil, response: nil, reconstructedResponse: nil))
        #expect(try await store.contains(id: full.id))
        #expect(try await !store.contains(id: UUID()))

        // A retried batch writes nothing twice.
        try await store.insert([Self.exchange(full)])
        #expect(try await store.records(matching: RecordQuery()).records.count == 2)

        try await store.setScores([Score(name: "helpful", value: 1, isBool: true), Score(name: "accuracy", value: 0.75, isBool: false)], requestID: full.id)
        try await store.setScores([Score(name: "accuracy", value: 0.5, isBool: false)], requestID: full.id)
        let scores = try await store.scores(requestIDs: [full.id, bare.id])
        #expect(scores[full.id] == [Score(name: "accuracy", value: 0.5, isBool: false), Score(name: "helpful", value: 1, isBool: true)])
        #expect(scores[bare.id] == nil)
    }

    @Test("pages follow newest first without gaps or repeats, and every filter narrows them")
    func pagingAndFilters() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        let records = [
            Self.record(at: 10, model: "gpt-4o", user: "alice", properties: [Property(name: "env", value: "prod")]),
            Self.record(at: 20, model: "gpt-4o-mini", status: 429, user: "bob"),
            Self.record(at: 30, model: "gpt-4o", user: "alice", properties: [Property(name: "env", value: "dev")]),
            Self.record(at: 40, project: "other", model: "gpt-4o", user: "alice"),
            Self.record(at: 40, model: "gpt-4o-mini", user: "carol", properties: [Property(name: "env", value: "prod")]),
        ]
        try await store.insert(records.map { Self.exchange($0) })
        try await store.setScores([Score(name: "good", value: 1, isBool: true)], requestID: records[2].id)

        var seen: [UUID] = []
        var query = RecordQuery()
        query.limit = 2
        repeat {
            let page = try await store.records(matching: query)
            seen += page.records.map(\.id)
            query.cursor = page.nextCursor
        } while query.cursor != nil
        // Newest first; the two at the same time by id, descending.
        let tied = [records[3], records[4]].map(\.id).sorted { $0.uuidString.lowercased() > $1.uuidString.lowercased() }
        #expect(seen == tied + [records[2].id, records[1].id, records[0].id])

        func ids(_ configure: (inout RecordQuery) -> Void) async throws -> Set<UUID> {
            var q = RecordQuery()
            configure(&q)
            return Set(try await store.records(matching: q).records.map(\.id))
        }
        #expect(try await ids { $0.project = "default" } == Set([0, 1, 2, 4].map { records[$0].id }))
        #expect(try await ids { $0.userID = "alice" } == Set([0, 2, 3].map { records[$0].id }))
        #expect(try await ids { $0.model = "gpt-4o-mini" } == Set([1, 4].map { records[$0].id }))
        #expect(try await ids { $0.status = 429 } == [records[1].id])
        #expect(try await ids { $0.properties = [Property(name: "ENV", value: "prod")] } == Set([0, 4].map { records[$0].id }))
        #expect(try await ids { $0.scores = [Score(name: "good", value: 1, isBool: true)] } == [records[2].id])
        #expect(try await ids { $0.since = Self.time(20); $0.until = Self.time(40) } == Set([1, 2].map { records[$0].id }))
    }

    @Test("a batch's analytics rows group its calls by model with their tokens, cost and unpriced count")
    func statsByModel() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        let usage = TokenUsage(inputTokens: 100, outputTokens: 20, cacheReadTokens: 0, cacheWrite5mTokens: 0, reasoningTokens: 0)
        try await store.insert([
            Self.exchange(Self.record(at: 1, model: "gpt-4o", usage: usage, cost: 0.00045)),
            Self.exchange(Self.record(at: 2, model: "gpt-4o", usage: usage, cost: 0.00045)),
            Self.exchange(Self.record(at: 3, model: "mystery-1", usage: usage, cost: nil)),
        ])
        // The analytics rows written with the batch: the day's rows by model.
        let day = AnalyticsResolution.day.floor(StoredTime.micros(Self.time(0)))
        let rows = try await store.analyticsRows(dimension: "model", values: nil, project: "default", pieces: [.init(.day, day, day + 86_400_000_000)])
        let gpt = try #require(rows.first { $0.value == "gpt-4o" }?.figures)
        #expect(gpt.calls == 2)
        #expect(gpt.totalTokens == 240)
        #expect(abs(gpt.costUSD - 0.0009) < 1e-12)
        #expect(gpt.unpriced == 0)
        #expect(rows.first { $0.value == "mystery-1" }?.figures.unpriced == 1)
        #expect(try await store.analyticsRows(dimension: "model", values: nil, project: "other", pieces: [.init(.day, day, day + 86_400_000_000)]).isEmpty)
        #expect(try await store.unpricedModels(project: "default").map(\.model) == ["mystery-1"])
        #expect(try await store.unpricedModels(project: "other").isEmpty)
    }

    @Test("two claimers working at once never get the same delivery, and between them get every one")
    func concurrentClaimsAreDisjoint() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        let webhook = try await DeliveryHandoffTests.webhook(store)
        let now = Date()
        let deliveries = (0..<60).map { _ in NewDelivery(id: UUID(), webhookID: webhook.id) }
        try await store.insert(stride(from: 0, to: 60, by: 6).map { i in Self.exchange(Self.record(at: Double(i)), deliveries: Array(deliveries[i..<i + 6])) })

        @Sendable func claimAll() async throws -> [UUID] {
            var mine: [UUID] = []
            while true {
                let claimed = try await store.claimDueDeliveries(now: now.addingTimeInterval(1), leaseUntil: now.addingTimeInterval(600), limit: 4)
                if claimed.isEmpty { return mine }
                mine += claimed.map(\.delivery.id)
            }
        }
        async let first = claimAll()
        async let second = claimAll()
        let (a, b) = try await (first, second)
        #expect(Set(a).isDisjoint(with: b))
        #expect(a.count + b.count == 60)
        #expect(Set(a + b) == Set(deliveries.map(\.id)))
        // Leased: nobody gets them again until the lease ends.
        #expect(try await store.claimDueDeliveries(now: now.addingTimeInterval(2), leaseUntil: now.addingTimeInterval(700), limit: 100).isEmpty)
    }

    static func outcome(_ delivery: Delivery, number: Int, at: Date, status: Int?, succeeded: Bool, disable: String? = nil) -> (Delivery, AttemptResult) {
        let attempt = DeliveryAttempt(
            deliveryID: delivery.id, number: number, startedAt: at, durationMs: 12.5, statusCode: status,
            responseHead: status.map { "HTTP \($0)" }, error: succeeded ? nil : "receiver answered \(status ?? 0)"
        )
        return (delivery, AttemptResult(
            attempt: attempt, status: succeeded ? .succeeded : (disable == nil ? .pending : .failed),
            nextAttemptAt: succeeded ? nil : at.addingTimeInterval(30), webhookSucceeded: succeeded, disableReason: disable
        ))
    }

    @Test("attempts are logged in order; a webhook's failing run starts at its first failure, ends at a success, and disabling keeps the reason")
    func attemptsAndFailingRuns() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        let webhook = try await DeliveryHandoffTests.webhook(store)
        let ids = (0..<3).map { _ in UUID() }
        try await store.insert([Self.exchange(Self.record(at: 1), deliveries: ids.map { NewDelivery(id: $0, webhookID: webhook.id) })])
        let d = try await ids.asyncMap { try #require(try await store.delivery(id: $0)) }
        let t = Self.time(100)

        try await store.complete([Self.outcome(d[0], number: 1, at: t, status: 500, succeeded: false)])
        try await store.complete([Self.outcome(d[0], number: 2, at: Self.time(130), status: 503, succeeded: false)])
        #expect(try await store.webhook(id: webhook.id)?.failingSince == t, "a run starts at its first failure and later failures leave it")
        let attempts = try await store.attempts(deliveryID: d[0].id)
        #expect(attempts.map(\.number) == [1, 2])
        #expect(attempts.map(\.statusCode) == [500, 503])
        #expect(attempts.first?.startedAt == t)
        let pending = try await store.delivery(id: d[0].id)
        #expect(pending?.status == .pending)
        #expect(pending?.attempts == 2)
        #expect(pending?.lastStatusCode == 503)

        // One batch: a failure, a success, a failure. As if applied one by one: a new run from the last failure.
        try await store.complete([
            Self.outcome(d[1], number: 1, at: Self.time(160), status: 500, succeeded: false),
            Self.outcome(d[0], number: 3, at: Self.time(161), status: 200, succeeded: true),
            Self.outcome(d[2], number: 1, at: Self.time(162), status: 502, succeeded: false),
        ])
        #expect(try await store.webhook(id: webhook.id)?.failingSince == Self.time(162))
        #expect(try await store.delivery(id: d[0].id)?.status == .succeeded)

        try await store.complete([Self.outcome(d[1], number: 2, at: Self.time(190), status: 200, succeeded: true)])
        #expect(try await store.webhook(id: webhook.id)?.failingSince == nil)

        try await store.complete([Self.outcome(d[2], number: 2, at: Self.time(220), status: 410, succeeded: false, disable: "the receiver answered 410 Gone")])
        let disabled = try #require(try await store.webhook(id: webhook.id))
        #expect(!disabled.enabled)
        #expect(disabled.disabledReason == "the receiver answered 410 Gone")
        #expect(try await store.delivery(id: d[2].id)?.status == .failed)
    }

    @Test("the failing run a batch leaves is the one applying its outcomes one by one would leave")
    func failingRunsMatchOneByOne() {
        let a = UUID(), b = UUID()
        func result(_ at: Double, _ ok: Bool) -> AttemptResult {
            Self.outcome(Delivery(id: UUID(), webhookID: a, requestID: nil, status: .pending, attempts: 0, nextAttemptAt: nil, createdAt: Self.time(0), lastError: nil, lastStatusCode: nil),
                         number: 1, at: Self.time(at), status: ok ? 200 : 500, succeeded: ok).1
        }
        let changes = FailingRuns.changes([(a, result(1, false)), (b, result(2, true)), (a, result(3, false)), (b, result(4, false)), (a, result(5, true)), (a, result(6, false))])
        #expect(changes.map(\.0) == [a, b])
        #expect(changes.map(\.1) == [.restart(Self.time(6)), .restart(Self.time(4))])
        #expect(FailingRuns.changes([(a, result(1, false)), (a, result(2, false))]).map(\.1) == [.start(Self.time(1))])
        #expect(FailingRuns.changes([(a, result(1, false)), (a, result(2, true))]).map(\.1) == [.clear])
    }

    @Test("retention deletes old records with their bodies, properties and scores, and old finished deliveries with their attempts; newer and pending stay")
    func retentionDeletesOnlyWhatIsOld() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        let webhook = try await DeliveryHandoffTests.webhook(store)
        let old = Self.record(at: 0, properties: [Property(name: "env", value: "prod")])
        let new = Self.record(at: 1000, properties: [Property(name: "env", value: "prod")])
        let delivered = NewDelivery(id: UUID(), webhookID: webhook.id), waiting = NewDelivery(id: UUID(), webhookID: webhook.id)
        try await store.insert([Self.exchange(old, deliveries: [delivered, waiting]), Self.exchange(new)])
        try await store.setScores([Score(name: "good", value: 1, isBool: true)], requestID: old.id)
        let sent = try #require(try await store.delivery(id: delivered.id))
        try await store.complete([Self.outcome(sent, number: 1, at: Self.time(1), status: 200, succeeded: true)])

        #expect(try await store.deleteRecords(before: Self.time(500), limit: 100) == 1)
        #expect(try await store.record(id: old.id) == nil)
        #expect(try await store.bodies(id: old.id) == nil)
        #expect(try await store.scores(requestIDs: [old.id]).isEmpty)
        var byProperty = RecordQuery()
        byProperty.properties = [Property(name: "env", value: "prod")]
        #expect(try await store.records(matching: byProperty).records.map(\.id) == [new.id])
        #expect(try await store.record(id: new.id) != nil)

        // Deliveries are kept by their own age; the finished one goes (created now, so cut at the future).
        #expect(try await store.deleteDeliveryLogs(before: Date().addingTimeInterval(60), limit: 100) == 1)
        #expect(try await store.delivery(id: delivered.id) == nil)
        #expect(try await store.attempts(deliveryID: delivered.id).isEmpty)
        #expect(try await store.delivery(id: waiting.id) != nil, "a pending delivery is never swept")
    }

    @Test("a webhook is created, updated, listed by project and deleted with its deliveries")
    func webhookLifecycle() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        var webhook = try await DeliveryHandoffTests.webhook(store)
        webhook.propertyFilters = [Property(name: "env", value: "prod")]
        webhook.previousKey = "whk_old"
        webhook.previousKeyExpiresAt = Self.time(50)
        webhook.sampleRate = 12.5
        webhook.updatedAt = Self.time(60)
        try await store.updateWebhook(webhook)
        let stored = try #require(try await store.webhook(id: webhook.id))
        #expect(stored.propertyFilters == webhook.propertyFilters)
        #expect(stored.previousKey == "whk_old")
        #expect(stored.previousKeyExpiresAt == Self.time(50))
        #expect(stored.sampleRate == 12.5)
        #expect(try await store.webhooks(project: "default").map(\.id) == [webhook.id])
        #expect(try await store.webhooks(project: "other").isEmpty)

        let delivery = NewDelivery(id: UUID(), webhookID: webhook.id)
        try await store.insert([Self.exchange(Self.record(at: 1), deliveries: [delivery])])
        #expect(try await store.deleteWebhook(id: webhook.id))
        #expect(try await store.webhook(id: webhook.id) == nil)
        #expect(try await store.delivery(id: delivery.id) == nil)
        #expect(try await !store.deleteWebhook(id: webhook.id))
    }
}

extension StoreContractTests {
    static func answer(key: String = "k1", project: String = "default", at seconds: Double, ttl: Double = 3600, body: String) -> CachedAnswer {
        CachedAnswer(
            key: key, project: project, createdAt: time(seconds), expiresAt: time(seconds + ttl), status: 200,
            headers: [("Content-Type", "text/event-stream"), ("x-request-id", "req_1")], body: Array(body.utf8), stream: true, requestID: UUID()
        )
    }

    @Test("a cached answer comes back byte for byte; a key keeps at most its bucket size of live answers, and an expired one frees its slot")
    func cacheSlots() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        let events = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n"
        let first = Self.answer(at: 0, body: events)
        #expect(try await store.keep(first, bucketMaxSize: 2) != nil)
        #expect(try await store.keep(Self.answer(at: 1, body: "second"), bucketMaxSize: 2) != nil)
        #expect(try await store.keep(Self.answer(at: 2, body: "third"), bucketMaxSize: 2) == nil, "both slots hold live answers")
        let live = try await store.cachedAnswers(key: "k1", now: Self.time(10))
        #expect(live.map(\.bucketIndex) == [0, 1])
        #expect(live.first == first)
        #expect(live.map { String(decoding: $0.body, as: UTF8.self) } == [events, "second"])
        #expect(try await store.cachedAnswers(key: "k2", now: Self.time(10)).isEmpty)

        // Past the first one's lifetime it is not served, and a new answer takes its slot.
        #expect(try await store.cachedAnswers(key: "k1", now: Self.time(3600.5)).map(\.bucketIndex) == [1])
        var later = Self.answer(at: 3600.5, body: "fourth")
        #expect(try await store.keep(later, bucketMaxSize: 2) != nil)
        later.bucketIndex = 0
        #expect(try await store.cachedAnswers(key: "k1", now: Self.time(3601)).first == later)
    }

    @Test("the cache sweep drops expired answers, then the oldest until the bodies fit; purging takes one project's answers only")
    func cacheSweepAndPurge() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        let body = String(repeating: "x", count: 100)
        #expect(try await store.keep(Self.answer(key: "old", at: 0, ttl: 10, body: body), bucketMaxSize: 1) != nil)
        for (i, key) in ["a", "b", "c"].enumerated() {
            #expect(try await store.keep(Self.answer(key: key, at: Double(100 + i), body: body), bucketMaxSize: 1) != nil)
        }
        #expect(try await store.keep(Self.answer(key: "z", project: "other", at: 200, body: body), bucketMaxSize: 1) != nil)
        // 4 live answers of 100 bytes, room for 250: the expired one and the two oldest live ones go.
        #expect(try await store.sweepCache(now: Self.time(300), maxBytes: 250, limit: 100) == 3)
        #expect(try await store.cachedAnswers(key: "a", now: Self.time(300)).isEmpty)
        #expect(try await store.cachedAnswers(key: "b", now: Self.time(300)).isEmpty)
        #expect(try await store.cachedAnswers(key: "c", now: Self.time(300)).count == 1)
        #expect(try await store.purgeCache(project: "default") == 1)
        #expect(try await store.cachedAnswers(key: "c", now: Self.time(300)).isEmpty)
        #expect(try await store.cachedAnswers(key: "z", now: Self.time(300)).count == 1, "another project's answers stay")
    }

    @Test("rate-limit counts add up across concurrent writers, per subject and window, and old windows are swept")
    func rateLimitCounts() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<40 {
                group.addTask { try await store.addToRateLimit(subject: "p:user:alice", window: .init(start: 60, seconds: 60), amount: 1) }
            }
            group.addTask { try await store.addToRateLimit(subject: "p:user:alice", window: .init(start: 120, seconds: 60), amount: 2.5) }
            group.addTask { try await store.addToRateLimit(subject: "p:user:bob", window: .init(start: 60, seconds: 60), amount: 1) }
            group.addTask { try await store.addToRateLimit(subject: "p:day", window: .init(start: 0, seconds: 86_400), amount: 7) }
            try await group.waitForAll()
        }
        #expect(try await store.rateLimitCounts(subject: "p:user:alice", windowStarts: [60, 120, 180]) == [60: 40, 120: 2.5])
        #expect(try await store.rateLimitCounts(subject: "p:user:bob", windowStarts: [60]) == [60: 1])
        // At 190 s the 60 s windows starting at 60 are read by nobody (the window at 180 looks back to 120); a day's window is.
        #expect(try await store.deleteRateLimitCounts(now: Date(timeIntervalSince1970: 190)) == 2)
        #expect(try await store.rateLimitCounts(subject: "p:user:alice", windowStarts: [60, 120]) == [120: 2.5])
        #expect(try await store.rateLimitCounts(subject: "p:day", windowStarts: [0]) == [0: 7])
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}

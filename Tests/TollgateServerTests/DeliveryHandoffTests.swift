import Foundation
import Testing
import TollgateCore
@testable import TollgateServer

/// The parts that let a first delivery go out without touching the store twice: the recorder's
/// leased hand-over, the in-memory queue, the group-committed attempt log and the wake-up.
/// The store tests run on PostgreSQL too when TOLLGATE_TEST_POSTGRES_URL is set.
@Suite("Delivery hand-over")
struct DeliveryHandoffTests {
    static func openStore() async throws -> SQLStore {
        let config = TestGateway.testConfig()
        try FileManager.default.createDirectory(atPath: config.storage.path, withIntermediateDirectories: true)
        let store = try Gateway.openStore(config, logger: RunningServer.quietLogger)
        try await store.migrate()
        return store
    }

    static func webhook(_ store: any WebhookStore) async throws -> Webhook {
        let now = Date()
        let webhook = Webhook(
            id: UUID(), project: "default", destination: "http://127.0.0.1:9/hook", sampleRate: 100, includeData: true,
            propertyFilters: [], hmacKey: "whk_test", previousKey: nil, previousKeyExpiresAt: nil, enabled: true,
            disabledReason: nil, failingSince: nil, createdAt: now, updatedAt: now
        )
        try await store.createWebhook(webhook)
        return webhook
    }

    static func call(_ deliveries: [NewDelivery]) -> StoredExchange {
        let record = RequestRecord(
            id: UUID(), project: "default", createdAt: Date(), method: "POST", path: "/v1/chat/completions", provider: "openai",
            model: "gpt-4o-mini", status: 200, stream: false, userID: nil, properties: [], sessionID: nil, sessionPath: nil,
            sessionName: nil, usage: nil, costUSD: nil, latencyMs: 1, timeToFirstTokenMs: 1, requestBytes: 2, responseBytes: 2, error: nil
        )
        return StoredExchange(record: record, bodies: StoredBodies(request: Array("{}".utf8), response: Array("{}".utf8), reconstructedResponse: nil), deliveries: deliveries)
    }

    static func close(_ store: any RecordStore) {
        Task { await store.close() }
    }

    @Test("a delivery the recording instance sends from memory is leased in the store: no other instance claims it until the lease ends")
    func handedOverDeliveriesAreLeased() async throws {
        let store = try await Self.openStore()
        defer { Self.close(store) }
        let webhook = try await Self.webhook(store)
        let now = Date()
        let held = NewDelivery(id: UUID(), webhookID: webhook.id, leaseUntil: now.addingTimeInterval(60))
        let left = NewDelivery(id: UUID(), webhookID: webhook.id)
        try await store.insert([Self.call([held]), Self.call([left])])

        let claimedNow = try await store.claimDueDeliveries(now: now.addingTimeInterval(1), leaseUntil: now.addingTimeInterval(100), limit: 10)
        #expect(claimedNow.map(\.delivery.id) == [left.id])

        let afterLease = now.addingTimeInterval(61)
        let claimedLater = try await store.claimDueDeliveries(now: afterLease, leaseUntil: afterLease.addingTimeInterval(100), limit: 10)
        #expect(claimedLater.map(\.delivery.id) == [held.id], "once its lease has ended, a held delivery is anyone's to send")
    }

    @Test("attempts finishing together are all logged, and one that cannot be written does not lose the others")
    func completionsAreBatchedAndIsolated() async throws {
        let store = try await Self.openStore()
        defer { Self.close(store) }
        let webhook = try await Self.webhook(store)
        let deliveries = (0..<20).map { _ in NewDelivery(id: UUID(), webhookID: webhook.id) }
        try await store.insert(deliveries.map { Self.call([$0]) })
        let now = Date()
        let claimed = try await store.claimDueDeliveries(now: now, leaseUntil: now.addingTimeInterval(60), limit: 100).map(\.delivery)
        #expect(claimed.count == 20)

        func succeeded(_ delivery: Delivery) -> AttemptResult {
            AttemptResult(
                attempt: DeliveryAttempt(deliveryID: delivery.id, number: 1, startedAt: now, durationMs: 1, statusCode: 200, responseHead: "ok", error: nil),
                status: .succeeded, nextAttemptAt: nil, webhookSucceeded: true, disableReason: nil
            )
        }
        var ghost = claimed[0]
        ghost.id = UUID()  // not in the store: its attempt row breaks the foreign key
        let log = CompletionLog(store: store, logger: RunningServer.quietLogger)
        let failures = await withTaskGroup(of: Bool.self) { group in
            for delivery in claimed + [ghost] {
                group.addTask { (try? await log.complete(delivery, result: succeeded(delivery))) == nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 1)
        for delivery in claimed {
            let stored = try #require(try await store.delivery(id: delivery.id))
            #expect(stored.status == .succeeded && stored.attempts == 1)
            #expect(try await store.attempts(deliveryID: delivery.id).map(\.statusCode) == [200])
        }
    }

    static func item(bytes: Int, leaseUntil: Date, webhookID: UUID = UUID()) -> FreshDeliveries.Item {
        let call = call([])
        let delivery = Delivery(id: UUID(), webhookID: webhookID, requestID: call.record.id, status: .pending, attempts: 0,
                                nextAttemptAt: Date(), createdAt: Date(), lastError: nil, lastStatusCode: nil)
        return .init(delivery: delivery, leaseUntil: leaseUntil, record: call.record, bodies: call.bodies, bodiesInDatabase: true, bytes: bytes)
    }

    @Test("a held delivery whose lease would end during its attempt is left to the store, so two instances never send it at once")
    func expiringHeldDeliveriesAreDropped() {
        let fresh = FreshDeliveries(maxCount: 10, maxBytes: 1000)
        let now = Date()
        let expiring = Self.item(bytes: 10, leaseUntil: now.addingTimeInterval(5))
        let lasting = Self.item(bytes: 10, leaseUntil: now.addingTimeInterval(500))
        fresh.add([expiring, lasting])
        let taken = fresh.take(limit: 10, mustLastUntil: now.addingTimeInterval(120)) { _ in true }
        #expect(taken.map(\.delivery.id) == [lasting.delivery.id])
        #expect(fresh.count == 0)
    }

    @Test("held deliveries are bounded by count and body bytes, and one busy destination does not hold back the others")
    func heldDeliveriesAreBounded() {
        let fresh = FreshDeliveries(maxCount: 3, maxBytes: 100)
        let later = Date().addingTimeInterval(600)
        #expect(fresh.hasRoom(count: 3, bytes: 90))
        #expect(!fresh.hasRoom(count: 4, bytes: 4), "more deliveries than the count bound")
        #expect(!fresh.hasRoom(count: 1, bytes: 101), "more body bytes than the byte bound")
        let busy = UUID()
        let blocked = Self.item(bytes: 40, leaseUntil: later, webhookID: busy)
        let other = Self.item(bytes: 40, leaseUntil: later)
        fresh.add([blocked, other])
        #expect(!fresh.hasRoom(count: 1, bytes: 40))
        let taken = fresh.take(limit: 5, mustLastUntil: Date()) { $0.delivery.webhookID != busy }
        #expect(taken.map(\.delivery.id) == [other.delivery.id])
        #expect(fresh.count == 1 && fresh.hasRoom(count: 1, bytes: 60), "taking gives its room back")
        #expect(fresh.drain() == [blocked.delivery.id])
    }

    @Test("the dispatcher's wake-up keeps a signal sent before it waits, times out without one, and tells store work from a freed slot")
    func wakeupSignals() async {
        let wakeup = Wakeup()
        wakeup.signal(storeChanged: true)
        #expect(await wakeup.wait(timeout: .seconds(30)) == true, "a signal sent before the wait is not lost")
        wakeup.signal(storeChanged: false)
        #expect(await wakeup.wait(timeout: .seconds(30)) == false)
        let started = ContinuousClock.now
        #expect(await wakeup.wait(timeout: .milliseconds(100)) == false)
        #expect(ContinuousClock.now - started >= .milliseconds(100), "woke before the timeout with no signal")
        Task {
            try? await Task.sleep(for: .milliseconds(50))
            wakeup.signal()
        }
        #expect(await wakeup.wait(timeout: .seconds(30)) == true, "a signal during the wait wakes it")
    }
}

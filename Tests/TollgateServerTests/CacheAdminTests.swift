import Foundation
import Testing
import TollgateCore
@testable import TollgateServer

@Suite("Response cache upkeep")
struct CacheAdminTests {
    @Test("DELETE /v1/cache purges one project's cached answers and leaves the others; without a project it names what is missing")
    func purgeOneProject() async throws {
        let gateway = try await TestGateway.start()
        let store = try Gateway.openStore(gateway.config, logger: RunningServer.quietLogger)
        defer { DeliveryHandoffTests.close(store) }
        let now = Date()
        #expect(try await store.keep(StoreContractTests.answer(key: "a", at: now.timeIntervalSince1970 - 1_764_000_000, body: "one"), bucketMaxSize: 1) != nil)
        #expect(try await store.keep(StoreContractTests.answer(key: "b", project: "other", at: now.timeIntervalSince1970 - 1_764_000_000, body: "two"), bucketMaxSize: 1) != nil)

        let missing = try await gateway.admin("/v1/cache", .DELETE)
        #expect(missing.status == 400)
        #expect(missing.text.contains("DELETE /v1/cache?project=<project>"))
        let purged = try await gateway.admin("/v1/cache?project=default", .DELETE)
        #expect(purged.status == 200)
        #expect(purged.text == #"{"data":{"project":"default","purged":1},"error":null}"#)
        #expect(try await store.cachedAnswers(key: "a", now: now).isEmpty)
        #expect(try await store.cachedAnswers(key: "b", now: now).count == 1)
        #expect(try await gateway.send(.DELETE, "/v1/cache?project=other").status == 401, "the admin key is needed")
        try await gateway.stop()
    }

    @Test("the sweep deletes expired answers and the oldest beyond cache.max_bytes, and counts no window reads")
    func sweepKeepsTablesBounded() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        let body = String(repeating: "x", count: 1000)
        for (i, key) in ["a", "b", "c"].enumerated() {
            #expect(try await store.keep(StoreContractTests.answer(key: key, at: Double(i), body: body), bucketMaxSize: 1) != nil)
        }
        try await store.addToRateLimit(subject: "s", window: .init(start: 1_764_000_000, seconds: 60), amount: 1)
        let sweeper = ControlsSweeper(store: store, maxCacheBytes: 1500, interval: .seconds(60), logger: RunningServer.quietLogger, batchSize: 1)
        let swept = await sweeper.sweep(now: StoreContractTests.time(200))
        #expect(swept.answers == 2, "the two oldest go, batch after batch, until 1,000 bytes fit in 1,500")
        #expect(swept.counts == 1)
        #expect(try await store.cachedAnswers(key: "c", now: StoreContractTests.time(200)).count == 1)
    }
}

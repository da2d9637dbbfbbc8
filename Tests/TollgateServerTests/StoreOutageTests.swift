import Foundation
import Synchronization
import Testing
@testable import TollgateCore
@testable import TollgateServer

/// What a database outage must not do: hold calls, wedge the recorder, lose records it had room
/// to keep, or leave a client-chosen id claimed with no record behind it. (The same against a
/// real PostgreSQL server stopped and started under load: tests/sdk/test_postgres_outage.py.)
@Suite("Store outages")
struct StoreOutageTests {
    /// A recorder writing through a ``FaultyStore`` in front of a fresh store.
    struct Recorder {
        let inner: any RecordStore & WebhookStore
        let store: FaultyStore
        let queue: RecordQueue
        let requestIDs = RequestIDRegistry()
        let metrics = GatewayMetrics()
        let writer: RecordWriter

        init(queueCapacity: Int) async throws {
            inner = try await DeliveryHandoffTests.openStore()
            store = FaultyStore(inner)
            queue = RecordQueue(capacity: queueCapacity)
            let pricing = PricingTable.embedded
            writer = RecordWriter(
                queue: queue, store: store, builder: RecordBuilder(pricing: pricing), metrics: metrics, requestIDs: requestIDs,
                webhooks: WebhookRegistry(store: inner), onDeliveries: { _ in }, batchSize: 100, logger: RunningServer.quietLogger
            )
        }

        func dropped() -> Double? {
            MetricsTests.sample(String(decoding: metrics.registry.emitToBuffer(), as: UTF8.self), "tollgate_records_dropped_total", ["reason": "store_error"])
        }
    }

    /// A finished call whose client chose its id (`Helicone-Request-Id`), claimed as the proxy does.
    static func call(claimedIn requestIDs: RequestIDRegistry) -> Exchange {
        var tags = GatewayTags()
        tags.requestID = UUID()
        #expect(requestIDs.claim(tags.requestID!))
        return Exchange(
            id: tags.requestID!, project: "default", receivedAt: Date(), method: "POST", path: "/v1/chat/completions",
            target: UpstreamTarget(provider: "openai", format: .openai, origin: Origin("https://api.openai.com")!, pathAndQuery: "/v1/chat/completions"),
            tags: tags, status: 200, requestBody: Array("{}".utf8), responseBody: Array("{}".utf8), latencyMs: 1
        )
    }

    // The time limits turn a wait that never ends into a failure; they are not a measure.
    @Test("an operation that never answers, even to cancellation, is given up after its timeout", .timeLimit(.minutes(1)))
    func timeoutEndsAWaitThatNeverEnds() async throws {
        let store = FaultyStore(try await DeliveryHandoffTests.openStore())
        defer { DeliveryHandoffTests.close(store.inner) }
        store.checks.withLock { $0 = .hang }
        await #expect(throws: StoreUnavailable.self) {
            try await withStoreTimeout(.milliseconds(200)) { try await store.contains(id: UUID()) }
        }
    }

    @Test("a Helicone-Request-Id the store cannot check is refused at once and left free; a recorded one is used", .timeLimit(.minutes(1)))
    func requestIDCheckFailsFastAndFreesTheID() async throws {
        let store = FaultyStore(try await DeliveryHandoffTests.openStore())
        defer { DeliveryHandoffTests.close(store.inner) }
        let requestIDs = RequestIDRegistry()
        let id = UUID()

        store.checks.withLock { $0 = .hang }
        #expect(await requestIDs.claim(id, unlessRecordedIn: store, timeout: .milliseconds(300)) == .unavailable)
        #expect(!requestIDs.isClaimed(id), "an id refused for want of an answer stays free")

        store.checks.withLock { $0 = .unavailable(count: 1) }
        #expect(await requestIDs.claim(id, unlessRecordedIn: store) == .unavailable)
        #expect(!requestIDs.isClaimed(id))

        // A working store: what it answers, however slowly a loaded machine runs the test.
        store.checks.withLock { $0 = .none }
        #expect(await requestIDs.claim(id, unlessRecordedIn: store, timeout: .seconds(30)) == .claimed)
        #expect(await requestIDs.claim(id, unlessRecordedIn: store, timeout: .seconds(30)) == .used, "held by the call in flight")
    }

    @Test("a store down for several tries loses no record while the queue has room")
    func writerRetriesThroughAnOutage() async throws {
        let recorder = try await Recorder(queueCapacity: 100)
        defer { DeliveryHandoffTests.close(recorder.inner) }
        let call = Self.call(claimedIn: recorder.requestIDs)
        recorder.store.inserts.withLock { $0 = .unavailable(count: 6) }  // more refusals than the recorder used to allow
        await recorder.writer.write([call])
        #expect(try await recorder.inner.record(id: call.id) != nil)
        #expect(!recorder.requestIDs.isClaimed(call.id))
        #expect(recorder.dropped() == nil)
    }

    @Test("a batch whose commit went through but whose answer was lost is written again, and its calls count once in the analytics")
    func lostCommitCountsOnce() async throws {
        let recorder = try await Recorder(queueCapacity: 100)
        defer { DeliveryHandoffTests.close(recorder.inner) }
        let calls = (0..<3).map { _ in Self.call(claimedIn: recorder.requestIDs) }
        recorder.store.afterInserts.withLock { $0 = .unavailable(count: 1) }
        await recorder.writer.write(calls)
        for call in calls { #expect(try await recorder.inner.record(id: call.id) != nil) }
        let now = StoredMicros.of(Date())
        let pieces = AnalyticsResolution.allCases.map { AnalyticsRange.Piece($0, now - 86_400_000_000, now + 86_400_000_000) }
        let rows = try await recorder.inner.analyticsRows(dimension: "none", values: nil, project: nil, pieces: pieces)
        for resolution in AnalyticsResolution.allCases {
            #expect(rows.filter { $0.resolution == resolution }.reduce(0) { $0 + $1.figures.calls } == 3, "\(resolution)")
        }
        #expect(recorder.dropped() == nil)
    }

    @Test("a batch given up (the queue full while the store is down) is counted, and frees its Helicone-Request-Ids")
    func givenUpBatchFreesItsIDs() async throws {
        let recorder = try await Recorder(queueCapacity: 1)
        defer { DeliveryHandoffTests.close(recorder.inner) }
        let call = Self.call(claimedIn: recorder.requestIDs)
        #expect(recorder.queue.offer(Self.call(claimedIn: recorder.requestIDs)))  // the queue is full behind the batch
        recorder.store.inserts.withLock { $0 = .unavailable(count: 1000) }
        await recorder.writer.write([call])
        #expect(try await recorder.inner.record(id: call.id) == nil)
        #expect(!recorder.requestIDs.isClaimed(call.id), "no record and no claim: the id may be used again, and is not answered 409")
        #expect(recorder.dropped() == 1)
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import Testing
import TollgateServer

/// The live view's stream (`GET /v1/requests/live`) over real HTTP: what a subscriber receives,
/// whose calls, what a slow one loses, and when streams end.
@Suite("Live view")
struct LiveTests {
    static let chat = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a secret prompt"}]}"#

    @Test("a call arrives on the live stream once it is stored, with the fields its record has and no body")
    func callArrivesOnceStored() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let gateway = try await TestGateway.start(provider: provider)
        let stream = try await LiveStream.open(gateway)
        #expect(stream.status == 200)
        #expect(stream.contentType?.hasPrefix("text/event-stream") == true)

        let reply = try await gateway.send(.POST, "/v1/chat/completions", body: Self.chat,
                                           headers: [("Helicone-User-Id", "alice"), ("Helicone-Property-Feature", "search")])
        let id = try #require(reply.headers.first(name: "helicone-id"))
        let event = try await stream.call(id)
        // The event is sent after the batch is written: the record is already there to read.
        let stored = try await gateway.admin("/v1/requests/\(id)")
        #expect(stored.status == 200)
        let record = try #require(stored.json?["data"] as? [String: Any])
        let summary = try #require(event.json)
        let fields = ["id", "created_at", "project", "provider", "model", "status", "user_id", "properties", "total_tokens",
                      "cost_usd", "latency_ms", "time_to_first_token_ms", "cache_hit", "error"]
        #expect(Set(summary.keys) == Set(fields))
        for field in fields {
            #expect(summary[field] as? NSObject == record[field] as? NSObject, "\(field): event \(summary[field] ?? "nil") vs record \(record[field] ?? "nil")")
        }
        #expect(summary["user_id"] as? String == "alice" && summary["total_tokens"] as? Int == 1200 && summary["status"] as? Int == 200)
        #expect(event.id == id)
        #expect(!event.data.contains("secret prompt") && !event.data.contains("Hello there"), "never a body")
        stream.close()
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("a project's admin key sees only its project's calls, whatever project it asks for; the global key may pick one")
    func projectKeySeesItsProjectOnly() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let gateway = try await TestGateway.start(provider: provider) { config in
            config.auth.gatewayKeys = [.init(key: "gk-a", project: "a"), .init(key: "gk-b", project: "b")]
            config.admin.projectKeys = [.init(key: "admin-a", project: "a")]
        }
        let ofA = try await LiveStream.open(gateway, query: "?project=b", key: "admin-a")
        let onlyB = try await LiveStream.open(gateway, query: "?project=b")
        #expect(ofA.status == 200 && onlyB.status == 200)

        let b = try await gateway.send(.POST, "/v1/chat/completions", body: Self.chat, headers: [("Helicone-Auth", "Bearer gk-b")])
        _ = try await gateway.record(try #require(b.headers.first(name: "helicone-id")))
        let a = try await gateway.send(.POST, "/v1/chat/completions", body: Self.chat, headers: [("Helicone-Auth", "Bearer gk-a")])
        let idA = try #require(a.headers.first(name: "helicone-id")), idB = try #require(b.headers.first(name: "helicone-id"))
        // B's call was stored first: had it been sent to project a's stream, it would be before A's.
        _ = try await ofA.call(idA)
        #expect(ofA.calls.map(\.id) == [idA])
        #expect(ofA.calls.first?.json?["project"] as? String == "a")
        _ = try await onlyB.call(idB)
        let more = try await gateway.send(.POST, "/v1/chat/completions", body: Self.chat, headers: [("Helicone-Auth", "Bearer gk-b")])
        _ = try await onlyB.call(try #require(more.headers.first(name: "helicone-id")))
        #expect(!onlyB.calls.map(\.id).contains(idA))

        let unknown = try await gateway.admin("/v1/requests/live?model=x")
        #expect(unknown.status == 400)
        let anonymous = try await gateway.send(.GET, "/v1/requests/live")
        #expect(anonymous.status == 401)
        let noSession = try await gateway.send(.GET, "/dashboard/live/events")
        #expect(noSession.status == 401, "the dashboard's stream needs its session cookie")
        ofA.close()
        onlyB.close()
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("a subscriber that stops reading loses its oldest calls and is told how many; every call is still recorded")
    func slowSubscriberDropsCountedAndNeverHoldsTheRecorder() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let gateway = try await TestGateway.start(provider: provider) { $0.live.bufferEvents = 4 }
        // A client that reads the answer's head and then nothing: its socket buffers fill, the
        // stream's writes stop, and its four-event buffer overflows.
        let (connection, head) = try await LiveStream.openRaw(gateway, receiveBuffer: 4096)
        var received = head
        #expect(received.hasPrefix("HTTP/1.1 200"))

        let pad = String(repeating: "p", count: 2000)  // about 2 KB an event: a few dozen fill the buffers
        let total = 200
        var ids: [String] = []
        for _ in 0..<total {
            let reply = try await gateway.send(.POST, "/v1/chat/completions", body: Self.chat, headers: [("Helicone-Property-Pad", pad)])
            ids.append(try #require(reply.headers.first(name: "helicone-id")))
        }
        _ = try await gateway.record(ids.last!)
        let stored = try await gateway.admin("/v1/requests?limit=1000").json?["data"] as? [Any]
        #expect(stored?.count == total, "the recorder went on while the subscriber was stuck")

        let newest = ids.last!
        received += try await RawHTTP.onOwnThread { connection.readUntil(newest, timeout: 10) }
        let delivered = ids.filter { received.contains("id: \($0)\n") }
        let dropped = LiveStream.droppedCounts(in: received).reduce(0, +)
        #expect(dropped > 0, "the stuck subscriber must have lost some calls")
        #expect(delivered.count + dropped == total, "each call is either sent or counted as dropped (\(delivered.count) + \(dropped))")
        #expect(delivered.last == ids.last, "the newest calls are the ones kept")
        let metrics = try await gateway.admin("/metrics").text
        #expect(metrics.contains("tollgate_live_events_dropped_total \(dropped)\n"), "the operator sees the same count")
        #expect(metrics.contains("tollgate_live_subscribers 1.0\n"))
        let positions = delivered.compactMap { received.range(of: "id: \($0)\n")?.lowerBound }
        #expect(positions == positions.sorted(), "in the order they were recorded")
        connection.hangUp()
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("at most live.max_subscribers streams are open; one whose client left frees its place")
    func subscriberCapAndUnsubscribeOnDisconnect() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let gateway = try await TestGateway.start(provider: provider) { $0.live.maxSubscribers = 1 }
        let (first, head) = try await LiveStream.openRaw(gateway)
        #expect(head.hasPrefix("HTTP/1.1 200"))

        let refused = try await gateway.admin("/v1/requests/live")
        #expect(refused.status == 503)
        #expect(refused.text.contains("live.max_subscribers"))

        // The client leaves; the stream notices at its next write (a call, or the heartbeat) and
        // gives its place back.
        first.hangUp()
        let deadline = ContinuousClock.now + .seconds(10)
        var again: LiveStream?
        while again == nil, ContinuousClock.now < deadline {
            _ = try await gateway.send(.POST, "/v1/chat/completions", body: Self.chat)
            let attempt = try await LiveStream.open(gateway)
            if attempt.status == 200 { again = attempt } else { try await Task.sleep(for: .milliseconds(50)) }
        }
        let stream = try #require(again, "the place of the client that left was never freed")
        let reply = try await gateway.send(.POST, "/v1/chat/completions", body: Self.chat)
        _ = try await stream.call(try #require(reply.headers.first(name: "helicone-id")))
        stream.close()
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("stopping the gateway ends the open live streams instead of waiting on them", .timeLimit(.minutes(1)))
    func shutdownEndsStreams() async throws {
        let gateway = try await TestGateway.start()
        let (connection, head) = try await LiveStream.openRaw(gateway)
        #expect(head.hasPrefix("HTTP/1.1 200"))
        let started = ContinuousClock.now
        try await gateway.stop()
        #expect(ContinuousClock.now - started < .seconds(10))
        let rest = try await RawHTTP.onOwnThread { connection.readUntilClosed(timeout: 5) }
        #expect(rest.closed, "the stream's connection is closed")
        #expect(rest.text.hasSuffix("0\r\n\r\n"), "the stream ended cleanly (last chunk) rather than being cut")
    }
}

/// A live stream read in the background as a client reads it.
final class LiveStream: Sendable {
    struct Event: Sendable {
        var name: String
        var id: String?
        var data: String
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] }
    }

    let status: Int
    let contentType: String?
    private let received = Mutex<(events: [Event], pending: String)>(([], ""))
    private let reader = Mutex<Task<Void, Never>?>(nil)

    private init(status: Int, contentType: String?) {
        self.status = status
        self.contentType = contentType
    }

    static func open(_ gateway: TestGateway, query: String = "", key: String? = nil) async throws -> LiveStream {
        var request = HTTPClientRequest(url: gateway.baseURL + "/v1/requests/live" + query)
        request.headers.add(name: "Authorization", value: "Bearer \(key ?? gateway.adminKey)")
        let response = try await TestGateway.client.execute(request, deadline: .now() + .minutes(5))
        let stream = LiveStream(status: Int(response.status.code), contentType: response.headers.first(name: "content-type"))
        guard stream.status == 200 else {
            _ = try await response.body.collect(upTo: 1 << 20)
            return stream
        }
        let body = response.body
        stream.reader.withLock { $0 = Task { try? await stream.read(body) } }
        return stream
    }

    private func read(_ body: HTTPClientResponse.Body) async throws {
        for try await chunk in body {
            received.withLock { state in
                state.pending += String(buffer: chunk)
                while let end = state.pending.range(of: "\n\n") {
                    let block = state.pending[..<end.lowerBound]
                    state.pending = String(state.pending[end.upperBound...])
                    var event = Event(name: "message", id: nil, data: "")
                    var isEvent = false
                    for line in block.split(separator: "\n") where !line.hasPrefix(":") {
                        let parts = line.split(separator: ":", maxSplits: 1).map { $0.drop { $0 == " " } }
                        guard parts.count == 2 else { continue }
                        switch parts[0] {
                        case "event": event.name = String(parts[1]); isEvent = true
                        case "id": event.id = String(parts[1])
                        case "data": event.data = String(parts[1]); isEvent = true
                        default: break
                        }
                    }
                    if isEvent { state.events.append(event) }
                }
            }
        }
    }

    var events: [Event] { received.withLock { $0.events } }
    var calls: [Event] { events.filter { $0.name == "call" } }

    /// Waits for the call event of `id`.
    func call(_ id: String, timeout: Duration = .seconds(10)) async throws -> Event {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let event = calls.first(where: { $0.id == id }) { return event }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("call \(id) did not arrive on the live stream within \(timeout); got \(calls.map(\.id))")
    }

    func close() { reader.withLock { $0?.cancel() } }

    /// A live stream on a connection the test holds by hand, once its head and opening comment
    /// have arrived: to stop reading it, or to hang up.
    static func openRaw(_ gateway: TestGateway, receiveBuffer: Int32? = nil) async throws -> (RawConnection, String) {
        let connection = try RawConnection(port: gateway.server.port, receiveBuffer: receiveBuffer)
        connection.send("GET /v1/requests/live HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(gateway.adminKey)\r\n\r\n")
        let head = try await RawHTTP.onOwnThread { connection.readUntil("live calls", timeout: 5) }
        return (connection, head)
    }

    /// The counts of the `dropped` events in raw stream text.
    static func droppedCounts(in text: String) -> [Int] {
        text.components(separatedBy: "event: dropped\ndata: {\"dropped\":").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
    }
}

extension RawConnection {
    /// Reads until `marker` has arrived or `timeout` seconds pass with no byte.
    func readUntil(_ marker: String, timeout: Double) -> String {
        var bytes: [UInt8] = []
        while case .data(let more) = read(timeout: timeout) {
            bytes += more
            if String(decoding: bytes, as: UTF8.self).contains(marker) { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import TollgateCore

@Suite("Streaming through the gateway")
struct StreamingTests {
    @Test("the first SSE event reaches the client while the provider still holds the rest")
    func firstEventArrivesBeforeStreamEnds() async throws {
        let hold = Gate()
        let provider = try await FakeServer.start { _, _ in
            FakeServer.sse([ProviderFixtures.chatChunk("Hel"), ProviderFixtures.chatChunk("lo"), ProviderFixtures.chatUsageChunk, ProviderFixtures.done], hold: hold)
        }
        let gateway = try await TestGateway.start(provider: provider)
        var request = HTTPClientRequest(url: gateway.baseURL + "/openai/v1/chat/completions")
        request.method = .POST
        request.body = .bytes(ByteBuffer(string: #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#))
        let response = try await TestGateway.client.execute(request, timeout: .seconds(20))
        #expect(response.status.code == 200)
        var iterator = response.body.makeAsyncIterator()
        var seen = ""
        while !seen.contains("\n\n"), let chunk = try await iterator.next() {
            seen += String(buffer: chunk)
        }
        // The provider has not been released yet: only its first event can be here.
        #expect(seen == ProviderFixtures.chatChunk("Hel"))
        hold.open()
        while let chunk = try await iterator.next() { seen += String(buffer: chunk) }
        #expect(seen == ProviderFixtures.chatChunk("Hel") + ProviderFixtures.chatChunk("lo") + ProviderFixtures.chatUsageChunk + ProviderFixtures.done)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("a stream that did not ask for usage is returned exactly as asked, and still metered")
    func injectedUsageIsHiddenFromClient() async throws {
        let provider = try await FakeServer.start { _, body in
            let asked = String(decoding: body, as: UTF8.self)
            guard asked.contains(#""include_usage":true"#) else { return FakeServer.json(#"{"error":"gateway did not inject include_usage"}"#, status: .badRequest) }
            return FakeServer.sse([
                ProviderFixtures.chatChunk("Hel", usageNull: true), ProviderFixtures.chatChunk("lo", usageNull: true),
                ProviderFixtures.chatStopChunk(usageNull: true), ProviderFixtures.chatUsageChunk, ProviderFixtures.done,
            ])
        }
        let gateway = try await TestGateway.start(provider: provider)
        let reply = try await gateway.send(.POST, "/openai/v1/chat/completions", body: #"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(reply.status == 200)
        #expect(reply.text == ProviderFixtures.chatChunk("Hel") + ProviderFixtures.chatChunk("lo") + ProviderFixtures.chatStopChunk() + ProviderFixtures.done)
        let id = try #require(reply.headers.first(name: "helicone-id"))
        let record = try await gateway.record(id)
        #expect(record["prompt_tokens"] as? Int == 12)
        #expect(record["completion_tokens"] as? Int == 3)
        #expect(record["total_tokens"] as? Int == 15)
        #expect(record["stream"] as? Bool == true)
        #expect(record["model"] as? String == "gpt-4o-mini-2024-07-18")
        // gpt-4o-mini: 12 × 0.15 + 3 × 0.60 per million = 3.6e-6 USD.
        let cost = try #require(record["cost_usd"] as? Double)
        #expect(abs(cost - 3.6e-6) < 1e-12)
        let ttft = try #require(record["time_to_first_token_ms"] as? Double)
        let latency = try #require(record["latency_ms"] as? Double)
        #expect(ttft > 0 && ttft <= latency)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("time to first token and latency reflect when the provider actually sent its bytes")
    func timingsFollowProvider() async throws {
        let provider = try await FakeServer.start { _, _ in
            try await Task.sleep(for: .milliseconds(150))
            return FakeServer.sse([ProviderFixtures.chatChunk("a"), ProviderFixtures.chatChunk("b"), ProviderFixtures.chatUsageChunk, ProviderFixtures.done], gap: .milliseconds(100))
        }
        let gateway = try await TestGateway.start(provider: provider)
        let reply = try await gateway.send(.POST, "/v1/chat/completions", body: #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}"#)
        let record = try await gateway.record(try #require(reply.headers.first(name: "helicone-id")))
        let ttft = try #require(record["time_to_first_token_ms"] as? Double)
        let latency = try #require(record["latency_ms"] as? Double)
        // The provider waits 150 ms before its first byte and 100 ms between its four events.
        #expect(ttft >= 150)
        #expect(latency >= 450)
        #expect(latency >= ttft)
        // The provider's share holds its 450 ms; the gateway's share is the rest, and the two add up.
        let upstream = try #require(record["upstream_latency_ms"] as? Double)
        let overhead = try #require(record["overhead_ms"] as? Double)
        #expect(upstream >= 450)
        #expect(overhead >= 0 && overhead < latency - 450)
        #expect(abs(upstream + overhead - latency) < 0.001)
        #expect(record["cache_hit"] as? Bool == false)
        try await gateway.stop()
        try await provider.stop()
    }
}

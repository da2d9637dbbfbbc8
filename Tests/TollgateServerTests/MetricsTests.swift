import Foundation
import Testing
import TollgateServer

@Suite("Metrics")
struct MetricsTests {
    /// The value of the sample whose name is `name` and whose labels include all of `labels`.
    static func sample(_ text: String, _ name: String, _ labels: [String: String]) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let matches = labels.allSatisfy { line.contains("\($0.key)=\"\($0.value)\"") }
            if matches, let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return value }
        }
        return nil
    }

    @Test("/metrics counts every recorded call with its tokens, cost and latency, and the calls that failed")
    func metricsCountRecordedCalls() async throws {
        let provider = try await FakeServer.start { request, _ in
            request.uri.path.hasSuffix("/fail") ? FakeServer.json(#"{"error":"boom"}"#, status: .internalServerError) : FakeServer.json(ProviderFixtures.chatCompletion)
        }
        let gateway = try await TestGateway.start(provider: provider)
        var ids: [String] = []
        for _ in 0..<5 {
            let reply = try await gateway.send(.POST, "/v1/chat/completions", body: #"{"model":"gpt-4o-mini"}"#)
            ids.append(try #require(reply.headers.first(name: "helicone-id")))
        }
        let failed = try await gateway.send(.POST, "/openai/v1/fail", body: "{}")
        #expect(failed.status == 500)
        ids.append(try #require(failed.headers.first(name: "helicone-id")))
        for id in ids { _ = try await gateway.record(id) }
        let first = try await gateway.record(ids[0])
        let cost = try #require(first["cost_usd"] as? Double)

        let text = try await gateway.send(.GET, "/metrics").text
        let model = "gpt-4o-mini-2024-07-18"
        #expect(Self.sample(text, "tollgate_requests_total", ["provider": "openai", "model": model, "status": "200"]) == 5)
        #expect(Self.sample(text, "tollgate_requests_total", ["provider": "openai", "status": "500"]) == 1)
        #expect(Self.sample(text, "tollgate_tokens_total", ["provider": "openai", "model": model, "kind": "prompt"]) == 5000)
        #expect(Self.sample(text, "tollgate_tokens_total", ["provider": "openai", "model": model, "kind": "completion"]) == 1000)
        let totalCost = try #require(Self.sample(text, "tollgate_cost_usd_total", ["provider": "openai", "model": model]))
        #expect(abs(totalCost - 5 * cost) < 1e-12)
        #expect(Self.sample(text, "tollgate_request_latency_milliseconds_count", ["provider": "openai"]) == 6)
        try await gateway.stop()
        try await provider.stop()
    }
}

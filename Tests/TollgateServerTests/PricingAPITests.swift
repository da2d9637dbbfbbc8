import Foundation
import Testing
import TollgateCore

@Suite("Pricing API")
struct PricingAPITests {
    /// A provider that answers a chat completion for whatever model was asked, with 1000 prompt
    /// tokens (400 cached) and 200 completion tokens.
    static func echoingProvider() async throws -> FakeServer {
        try await FakeServer.start { _, body in
            let model = ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any])?["model"] as? String ?? "none"
            return FakeServer.json(ProviderFixtures.chatCompletion.replacingOccurrences(of: "gpt-4o-mini-2024-07-18", with: model))
        }
    }

    @Test("unpriced models are listed per project with their count and when they were last seen, priced ones are not")
    func unpricedModelsAreListed() async throws {
        let provider = try await Self.echoingProvider()
        let gateway = try await TestGateway.start(provider: provider) { config in
            config.auth.gatewayKeys = [.init(key: "gk-a", project: "a"), .init(key: "gk-b", project: "b")]
            config.admin.projectKeys = [.init(key: "admin-b", project: "b")]
        }
        for (model, key) in [("claude-opus-4-9", "gk-a"), ("claude-opus-4-9", "gk-a"), ("gpt-5.5", "gk-a"), ("gpt-5.5-mini", "gk-b")] {
            let reply = try await gateway.send(.POST, "/v1/chat/completions", body: #"{"model":"\#(model)"}"#, headers: [("Helicone-Auth", "Bearer \(key)")])
            _ = try await gateway.record(try #require(reply.headers.first(name: "helicone-id")))
        }
        let all = try await gateway.admin("/v1/pricing/unpriced").json?["data"] as? [[String: Any]]
        #expect(all?.count == 2)
        let opus = all?.first { $0["model"] as? String == "claude-opus-4-9" }
        #expect(opus?["count"] as? Int == 2)
        #expect(opus?["provider"] as? String == "openai")
        #expect((opus?["last_seen"] as? String)?.hasSuffix("Z") == true)
        let projectB = try await gateway.admin("/v1/pricing/unpriced", key: "admin-b").json?["data"] as? [[String: Any]]
        #expect(projectB?.map { $0["model"] as? String } == ["gpt-5.5-mini"])
        #expect(try await gateway.send(.GET, "/v1/pricing/unpriced").status == 401)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("a model's price says which entry and rates, for names with slashes too, and 404 names what to do for an unpriced one")
    func priceOfAModel() async throws {
        let gateway = try await TestGateway.start { config in
            config.pricing.overrides = [PriceOverride(model: "my-finetune", provider: "groq", costs: ["input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6])]
        }
        let reply = try await gateway.admin("/v1/pricing/claude-opus-4-7-20261001?provider=anthropic")
        #expect(reply.status == 200)
        let data = try #require(reply.json?["data"] as? [String: Any])
        #expect(data["entry"] as? String == "claude-opus-4-7")
        #expect(data["match"] as? String == "dated_snapshot")
        let rates = try #require(data["usd_per_million_tokens"] as? [String: Any])
        #expect(rates["input"] as? Double == 5 && rates["output"] as? Double == 25 && rates["cache_write_long"] as? Double == 10)

        let qualified = try await gateway.admin("/v1/pricing/openai/gpt-5.5").json?["data"] as? [String: Any]
        #expect(qualified?["entry"] as? String == "gpt-5.5")
        #expect(qualified?["match"] as? String == "provider_qualified")
        let override = try await gateway.admin("/v1/pricing/my-finetune?provider=groq").json?["data"] as? [String: Any]
        #expect(override?["origin"] as? String == "pricing.overrides")
        #expect(try await gateway.admin("/v1/pricing/my-finetune").status == 404)

        let missing = try await gateway.admin("/v1/pricing/gpt-5.5-mini")
        #expect(missing.status == 404)
        #expect((missing.json?["error"] as? String)?.contains("pricing.overrides") == true)
        try await gateway.stop()
    }
}

import Foundation
import Testing
import TollgateCore

@Suite("Headers, auth and request ids")
struct HeaderTests {
    @Test("Helicone-* and hop-by-hop headers never reach the provider; provider keys and others do")
    func headersStrippedAndKept() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion, headers: [.init("x-request-id")!: "req_123", .init("openai-processing-ms")!: "42"]) }
        let gateway = try await TestGateway.start(provider: provider)
        let reply = try await gateway.send(.POST, "/openai/v1/chat/completions?api-version=2", body: #"{"model":"gpt-4o-mini"}"#, headers: [
            ("Authorization", "Bearer sk-provider-secret"), ("x-api-key", "anthropic-secret"), ("OpenAI-Organization", "org-1"),
            ("Helicone-Property-Environment", "production"), ("Helicone-User-Id", "user-9"), ("helicone-session-id", "s1"),
            ("Connection", "keep-alive, X-Hop"), ("X-Hop", "drop me"), ("Keep-Alive", "timeout=5"), ("TE", "trailers"),
        ])
        #expect(reply.status == 200)
        #expect(reply.text == ProviderFixtures.chatCompletion)
        let seen = try #require(provider.requests.first)
        #expect(seen.path == "/v1/chat/completions?api-version=2")
        let names = Set(seen.headers.map { $0.name.canonicalName })
        #expect(!names.contains { $0.hasPrefix("helicone-") })
        for hop in ["x-hop", "keep-alive", "te"] { #expect(!names.contains(hop)) }
        #expect(seen.headers[.authorization] == "Bearer sk-provider-secret")
        #expect(seen.headers[.init("x-api-key")!] == "anthropic-secret")
        #expect(seen.headers[.init("OpenAI-Organization")!] == "org-1")
        // The provider's own headers come back, plus the record id.
        #expect(reply.headers.first(name: "x-request-id") == "req_123")
        #expect(reply.headers.first(name: "openai-processing-ms") == "42")
        let id = try #require(reply.headers.first(name: "helicone-id"))
        let record = try await gateway.record(id)
        #expect(record["user_id"] as? String == "user-9")
        #expect(record["session_id"] as? String == "s1")
        #expect((record["properties"] as? [String: String]) == ["Environment": "production"])
        // Provider credentials are forwarded but never stored.
        if gateway.config.storage.kind == .sqlite {
            let database = try String(contentsOfFile: gateway.storagePath + "/tollgate.sqlite", encoding: .isoLatin1)
            #expect(!database.contains("sk-provider-secret") && !database.contains("anthropic-secret"))
        }
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("with gateway keys, a missing or unknown Helicone-Auth gets 401 and the provider is not called")
    func gatewayKeysRequired() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let gateway = try await TestGateway.start(provider: provider) { config in
            config.auth.gatewayKeys = [.init(key: "gk-alpha", project: "alpha"), .init(key: "gk-beta", project: "beta")]
        }
        let missing = try await gateway.send(.POST, "/v1/chat/completions", body: "{}")
        #expect(missing.status == 401)
        #expect((missing.json?["error"] as? [String: Any])?["type"] as? String == "unauthorized")
        #expect(missing.headers.first(name: "helicone-id") != nil)
        let unknown = try await gateway.send(.POST, "/v1/chat/completions", body: "{}", headers: [("Helicone-Auth", "Bearer nope")])
        #expect(unknown.status == 401)
        #expect(provider.requests.isEmpty)
        let ok = try await gateway.send(.POST, "/v1/chat/completions", body: "{}", headers: [("Helicone-Auth", "Bearer gk-beta")])
        #expect(ok.status == 200)
        let record = try await gateway.record(try #require(ok.headers.first(name: "helicone-id")))
        #expect(record["project"] as? String == "beta")
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("Helicone-Request-Id names the record; not a UUID gets 400, a reused one 409")
    func clientChosenRequestID() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let gateway = try await TestGateway.start(provider: provider)
        let id = UUID().uuidString.lowercased()
        let first = try await gateway.send(.POST, "/v1/chat/completions", body: "{}", headers: [("Helicone-Request-Id", id)])
        #expect(first.status == 200)
        #expect(first.headers.first(name: "helicone-id") == id)
        _ = try await gateway.record(id)
        let again = try await gateway.send(.POST, "/v1/chat/completions", body: "{}", headers: [("Helicone-Request-Id", id)])
        #expect(again.status == 409)
        #expect((again.json?["error"] as? [String: Any])?["type"] as? String == "duplicate_request_id")
        let bad = try await gateway.send(.POST, "/v1/chat/completions", body: "{}", headers: [("Helicone-Request-Id", "not-a-uuid")])
        #expect(bad.status == 400)
        #expect(provider.requests.count == 1)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("too many or too long properties, and an oversized header, get 400 with a reason")
    func limits() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let gateway = try await TestGateway.start(provider: provider)
        let longValue = try await gateway.send(.POST, "/v1/chat/completions", body: "{}", headers: [("Helicone-Property-Big", String(repeating: "x", count: 5000))])
        #expect(longValue.status == 400)
        #expect(((longValue.json?["error"] as? [String: Any])?["message"] as? String)?.contains("Big") == true)
        let many = (0..<65).map { ("Helicone-Property-P\($0)", "v") }
        let tooMany = try await gateway.send(.POST, "/v1/chat/completions", body: "{}", headers: many)
        #expect(tooMany.status == 400)
        let huge = try await RawHTTP.exchange(port: gateway.server.port, request: Array(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Huge: \(String(repeating: "y", count: 200_000))\r\nContent-Length: 2\r\n\r\n{}".utf8))
        #expect(huge.hasPrefix("HTTP/1.1 400"))
        #expect(provider.requests.isEmpty)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("Helicone-Target-URL reaches only allow-listed origins")
    func targetURLAllowlist() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let gateway = try await TestGateway.start(provider: provider) { config in
            config.routing.providers = config.routing.providers.map { var p = $0; p.origin = Origin("http://127.0.0.1:9")!; return p }
            config.routing.allowedTargetURLs = [provider.baseURL]
        }
        let allowed = try await gateway.send(.POST, "/v1/chat/completions", body: "{}", headers: [("Helicone-Target-URL", provider.baseURL)])
        #expect(allowed.status == 200)
        #expect(provider.requests.first?.path == "/v1/chat/completions")
        let record = try await gateway.record(try #require(allowed.headers.first(name: "helicone-id")))
        #expect(record["provider"] as? String == "127.0.0.1")
        let refused = try await gateway.send(.POST, "/v1/chat/completions", body: "{}", headers: [("Helicone-Target-URL", "http://127.0.0.1:1")])
        #expect(refused.status == 400)
        #expect((refused.json?["error"] as? [String: Any])?["type"] as? String == "target_url_not_allowed")
        #expect(provider.requests.count == 1)
        try await gateway.stop()
        try await provider.stop()
    }
}

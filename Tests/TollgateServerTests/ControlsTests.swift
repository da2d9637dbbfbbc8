import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import Testing
import TollgateCore
@testable import TollgateServer

/// SPEC §7 on the proxy path, over loopback, on SQLite and (second pass) PostgreSQL: the cache,
/// retries, fallbacks and rate limits as a caller sees them (status, headers, bytes) and as the
/// record shows them.
@Suite("Gateway controls: cache, retries, fallbacks, rate limits")
struct ControlsTests {
    /// gpt-4o-mini at $0.15 per million input tokens and $0.60 per million output tokens
    /// (OpenAI's published price): 1,000 in and 500 out cost 0.00015 + 0.0003 = $0.00045.
    static func answer(_ content: String, prompt: Int = 1000, completion: Int = 500) -> String {
        #"{"id":"chatcmpl-c","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"\#(content)"},"finish_reason":"stop"}],"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":\#(prompt + completion)}}"#
    }

    static let body = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#

    /// A provider that answers each call with the next status of `script` (then 200s), the 200s
    /// numbered so that different answers can be told apart.
    static func scripted(_ script: [Int], retryAfter: String? = nil) async throws -> FakeServer {
        let calls = Atomic<Int>(0)
        return try await FakeServer.start { _, _ in
            let n = calls.add(1, ordering: .relaxed).newValue
            if n <= script.count, script[n - 1] != 200 {
                var headers: HTTPFields = [:]
                if let retryAfter { headers[HTTPField.Name("Retry-After")!] = retryAfter }
                return FakeServer.json(#"{"error":{"message":"scripted failure \#(n)"}}"#, status: .init(code: script[n - 1]), headers: headers)
            }
            return FakeServer.json(Self.answer("answer \(n)"))
        }
    }

    // MARK: Cache

    @Test("a second identical call with Helicone-Cache-Enabled is answered from the cache, byte for byte, without reaching the provider, and recorded as a hit that cost nothing")
    func cacheHitServesFirstAnswer() async throws {
        let provider = try await Self.scripted([])
        let gateway = try await TestGateway.start(provider: provider)
        let headers = [("Helicone-Cache-Enabled", "true")]
        let first = try await gateway.send(.POST, "/v1/chat/completions", body: Self.body, headers: headers)
        let second = try await gateway.send(.POST, "/v1/chat/completions", body: Self.body, headers: headers)
        #expect(first.status == 200 && second.status == 200)
        #expect(first.headers.first(name: "Helicone-Cache") == "MISS")
        #expect(second.headers.first(name: "Helicone-Cache") == "HIT")
        #expect(second.headers.first(name: "Helicone-Cache-Bucket-Idx") == "0")
        #expect(second.text == first.text)
        #expect(second.text.contains("answer 1"))
        #expect(provider.requests.count == 1)
        #expect(first.headers.first(name: "Helicone-Id") != second.headers.first(name: "Helicone-Id"))

        let miss = try await gateway.record(first.headers.first(name: "Helicone-Id")!)
        let hit = try await gateway.record(second.headers.first(name: "Helicone-Id")!)
        #expect(miss["cache_hit"] as? Bool == false)
        #expect(abs((miss["cost_usd"] as? Double ?? 0) - 0.00045) < 1e-12)
        #expect(hit["cache_hit"] as? Bool == true)
        #expect(hit["cost_usd"] as? Double == 0)
        #expect(abs((hit["cost_saved_usd"] as? Double ?? 0) - 0.00045) < 1e-12)
        #expect(hit["model"] as? String == "gpt-4o-mini")
        #expect(hit["upstream_latency_ms"] is NSNull)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("a cache hit fires the webhooks that match it, with the cached answer as its response body and a cost of 0")
    func cacheHitFiresWebhooks() async throws {
        let provider = try await Self.scripted([])
        let receiver = try await FakeServer.start { _, _ in FakeServer.json(#"{"ok":true}"#) }
        let gateway = try await TestGateway.start(provider: provider) { config in config.webhooks.allowedPrivateHosts = ["127.0.0.1"] }
        _ = try await gateway.createWebhook(#"{"destination": "\#(receiver.baseURL)/hook", "includeData": true}"#)
        let headers = [("Helicone-Cache-Enabled", "true")]
        let miss = try await gateway.send(.POST, "/v1/chat/completions", body: Self.body, headers: headers)
        let hit = try await gateway.send(.POST, "/v1/chat/completions", body: Self.body, headers: headers)
        #expect(hit.headers.first(name: "Helicone-Cache") == "HIT")
        let deliveries = try await receiver.waitForRequests(2).compactMap(\.json)
        let byID = Dictionary(deliveries.map { ($0["request_id"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let delivered = try #require(byID[hit.headers.first(name: "Helicone-Id") ?? ""])
        #expect(byID[miss.headers.first(name: "Helicone-Id") ?? ""] != nil)
        #expect(delivered["response_body"] as? String == miss.text)
        #expect((delivered["metadata"] as? [String: Any])?["cost"] as? Double == 0)
        try await gateway.stop()
        try await receiver.stop()
        try await provider.stop()
    }

    @Test("after DELETE /v1/cache for a project its next call goes to the provider again, while another project's entries stay")
    func purgeEmptiesTheCache() async throws {
        let provider = try await Self.scripted([])
        let gateway = try await TestGateway.start(provider: provider) { config in
            config.auth.gatewayKeys = [.init(key: "gk-a", project: "a"), .init(key: "gk-b", project: "b")]
        }
        func call(_ key: String) async throws -> String? {
            try await gateway.send(.POST, "/v1/chat/completions", body: Self.body, headers: [("Helicone-Cache-Enabled", "true"), ("Helicone-Auth", "Bearer \(key)")])
                .headers.first(name: "Helicone-Cache")
        }
        #expect(try await [call("gk-a"), call("gk-a"), call("gk-b"), call("gk-b")] == ["MISS", "HIT", "MISS", "HIT"])
        let purged = try await gateway.admin("/v1/cache?project=a", .DELETE)
        #expect(purged.status == 200)
        #expect((purged.json?["data"] as? [String: Any])?["purged"] as? Int == 1)
        #expect(try await [call("gk-a"), call("gk-a"), call("gk-b")] == ["MISS", "HIT", "HIT"])
        #expect(provider.requests.count == 3)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("a cached stream is replayed with the same bytes the first caller read, events and framing included")
    func cachedStreamReplaysBytes() async throws {
        let events = [ProviderFixtures.chatChunk("Hel"), ProviderFixtures.chatChunk("lo"), ProviderFixtures.chatStopChunk(), ProviderFixtures.chatUsageChunk, ProviderFixtures.done]
        let provider = try await FakeServer.start { _, _ in FakeServer.sse(events) }
        let gateway = try await TestGateway.start(provider: provider)
        let body = #"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
        let headers = [("Helicone-Cache-Enabled", "true")]
        let first = try await gateway.send(.POST, "/v1/chat/completions", body: body, headers: headers)
        let second = try await gateway.send(.POST, "/v1/chat/completions", body: body, headers: headers)
        #expect(second.headers.first(name: "Helicone-Cache") == "HIT")
        #expect(second.headers.first(name: "Content-Type") == "text/event-stream")
        #expect(second.body == first.body)
        // The caller did not ask for usage, so neither answer carries the usage chunk the gateway asked for.
        #expect(!first.text.contains(#""usage":{"#))
        #expect(first.text.hasSuffix(ProviderFixtures.done))
        #expect(provider.requests.count == 1)
        let hit = try await gateway.record(second.headers.first(name: "Helicone-Id")!)
        #expect(hit["stream"] as? Bool == true)
        #expect(hit["prompt_tokens"] as? Int == 12)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("the cache is not shared across projects, seeds or bodies, and not used for failed answers")
    func cacheKeepsCallsApart() async throws {
        let provider = try await Self.scripted([500])
        let gateway = try await TestGateway.start(provider: provider) { config in
            config.auth.gatewayKeys = [.init(key: "gk-a", project: "a"), .init(key: "gk-b", project: "b")]
        }
        func call(_ key: String, seed: String? = nil, body: String = Self.body) async throws -> TestGateway.Reply {
            var headers = [("Helicone-Cache-Enabled", "true"), ("Helicone-Auth", "Bearer \(key)")]
            if let seed { headers.append(("Helicone-Cache-Seed", seed)) }
            return try await gateway.send(.POST, "/v1/chat/completions", body: body, headers: headers)
        }
        #expect(try await call("gk-a").status == 500)  // not kept
        #expect(try await call("gk-a").headers.first(name: "Helicone-Cache") == "MISS")
        #expect(try await call("gk-a").headers.first(name: "Helicone-Cache") == "HIT")
        #expect(try await call("gk-b").headers.first(name: "Helicone-Cache") == "MISS")
        #expect(try await call("gk-a", seed: "s1").headers.first(name: "Helicone-Cache") == "MISS")
        let other = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}"#
        #expect(try await call("gk-a", body: other).headers.first(name: "Helicone-Cache") == "MISS")
        #expect(provider.requests.count == 5)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("with a bucket of 2 the first two identical calls reach the provider and later ones are served one of their two answers")
    func cacheBucketFillsThenServes() async throws {
        let provider = try await Self.scripted([])
        let gateway = try await TestGateway.start(provider: provider)
        let headers = [("Helicone-Cache-Enabled", "true"), ("Helicone-Cache-Bucket-Max-Size", "2")]
        var texts: [String] = []
        for _ in 0..<2 {
            let reply = try await gateway.send(.POST, "/v1/chat/completions", body: Self.body, headers: headers)
            #expect(reply.headers.first(name: "Helicone-Cache") == "MISS")
            texts.append(reply.text)
        }
        for _ in 0..<6 {
            let reply = try await gateway.send(.POST, "/v1/chat/completions", body: Self.body, headers: headers)
            #expect(reply.headers.first(name: "Helicone-Cache") == "HIT")
            let index = Int(reply.headers.first(name: "Helicone-Cache-Bucket-Idx") ?? "") ?? -1
            #expect((0...1).contains(index))
            if (0...1).contains(index) { #expect(reply.text == texts[index]) }
        }
        #expect(provider.requests.count == 2)
        try await gateway.stop()
        try await provider.stop()
    }

    // MARK: Retries

    @Test("with Helicone-Retry-Enabled a call that got 500 twice is sent again, byte for byte, and the caller gets the third answer; the record lists every attempt")
    func retriesUntilSuccess() async throws {
        let provider = try await Self.scripted([500, 503])
        let gateway = try await TestGateway.start(provider: provider)
        let reply = try await gateway.send(.POST, "/v1/chat/completions", body: Self.body, headers: [
            ("Helicone-Retry-Enabled", "true"), ("Helicone-Retry-Min-Timeout", "5"), ("Helicone-Retry-Max-Timeout", "20"),
        ])
        #expect(reply.status == 200)
        #expect(reply.text.contains("answer 3"))
        let sent = provider.requests
        #expect(sent.count == 3)
        #expect(Set(sent.map(\.body)).count == 1)
        let record = try await gateway.record(reply.headers.first(name: "Helicone-Id")!)
        let attempts = record["attempts"] as? [[String: Any]] ?? []
        #expect(attempts.map { $0["status"] as? Int } == [500, 503, 200])
        #expect((attempts.first?["response"] as? String)?.contains("scripted failure 1") == true)
        #expect(attempts.last?["response"] is NSNull)
        #expect(attempts.allSatisfy { ($0["url"] as? String)?.hasSuffix("/v1/chat/completions") == true })
        #expect(record["status"] as? Int == 200)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("a provider that keeps failing gets 1 + Helicone-Retry-Num attempts and the caller its last answer; a Retry-After beyond the max timeout is not waited for")
    func retriesGiveUp() async throws {
        let provider = try await Self.scripted(Array(repeating: 503, count: 10))
        let gateway = try await TestGateway.start(provider: provider)
        let reply = try await gateway.send(.POST, "/v1/chat/completions", body: Self.body, headers: [
            ("Helicone-Retry-Enabled", "true"), ("Helicone-Retry-Num", "2"), ("Helicone-Retry-Min-Timeout", "5"), ("Helicone-Retry-Max-Timeout", "10"),
        ])
        #expect(reply.status == 503)
        #expect(reply.text.contains("scripted failure 3"))
        #expect(provider.requests.count == 3)

        let limited = try await Self.scripted([429, 429], retryAfter: "30")
        let second = try await TestGateway.start(provider: limited)
        let refused = try await second.send(.POST, "/v1/chat/completions", body: Self.body, headers: [
            ("Helicone-Retry-Enabled", "true"), ("Helicone-Retry-Min-Timeout", "5"), ("Helicone-Retry-Max-Timeout", "1000"),
        ])
        #expect(refused.status == 429)
        #expect(refused.headers.first(name: "Retry-After") == "30")
        #expect(limited.requests.count == 1)
        try await second.stop()
        try await limited.stop()
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("a provider that cannot be reached is retried, and the record says so")
    func retriesUnreachable() async throws {
        let closed = try ClosedPort()
        let gateway = try await TestGateway.start { config in
            config.routing.providers = [ProviderRoute(name: "openai", origin: Origin(closed.baseURL)!, format: .openai)]
        }
        let reply = try await gateway.send(.POST, "/v1/chat/completions", body: Self.body, headers: [
            ("Helicone-Retry-Enabled", "true"), ("Helicone-Retry-Num", "1"), ("Helicone-Retry-Min-Timeout", "5"), ("Helicone-Retry-Max-Timeout", "10"),
        ])
        #expect(reply.status == 502)
        let record = try await gateway.record(reply.headers.first(name: "Helicone-Id")!)
        let attempts = record["attempts"] as? [[String: Any]] ?? []
        #expect(attempts.count == 2)
        #expect(attempts.allSatisfy { $0["status"] is NSNull && ($0["error"] as? String)?.hasPrefix("upstream_unreachable") == true })
        try await gateway.stop()
        withExtendedLifetime(closed) {}
    }

    // MARK: Fallbacks

    @Test("Helicone-Fallbacks moves past an unreachable entry and a 503 to the entry that answers; each entry's headers and body keys go to it alone")
    func fallbacksReachTheAnsweringEntry() async throws {
        let closed = try ClosedPort()
        let port = closed.port
        let failing = try await Self.scripted([503])
        let good = try await Self.scripted([])
        let gateway = try await TestGateway.start(provider: good) { config in
            config.routing.allowedTargetURLs = ["http://127.0.0.1:\(port)", failing.baseURL]
        }
        let fallbacks = [
            #"{"target-url": "http://127.0.0.1:\#(port)"}"#,
            #"{"target-url": "\#(failing.baseURL)", "headers": {"X-Entry": "one"}, "onCodes": [{"from": 500, "to": 599}]}"#,
            #"{"target-url": "\#(good.baseURL)", "headers": {"X-Entry": "two", "Authorization": "Bearer second-key"}, "bodyKeyOverride": {"model": "gpt-4o"}}"#,
        ].joined(separator: ", ")
        let reply = try await gateway.send(.POST, "/openai/v1/chat/completions", body: Self.body, headers: [
            ("Helicone-Fallbacks", "[\(fallbacks)]"), ("Authorization", "Bearer first-key"),
        ])
        #expect(reply.status == 200)
        #expect(reply.headers.first(name: "Helicone-Fallback-Index") == "2")
        #expect(failing.requests.first?.headers[HTTPField.Name("X-Entry")!] == "one")
        #expect(failing.requests.first?.headers[.authorization] == "Bearer first-key")
        #expect(failing.requests.first?.json?["model"] as? String == "gpt-4o-mini")
        let last = good.requests.first
        #expect(last?.path == "/v1/chat/completions")
        #expect(last?.headers[HTTPField.Name("X-Entry")!] == "two")
        #expect(last?.headers[.authorization] == "Bearer second-key")
        #expect(last?.json?["model"] as? String == "gpt-4o")
        let record = try await gateway.record(reply.headers.first(name: "Helicone-Id")!)
        #expect(record["fallback_index"] as? Int == 2)
        let attempts = record["attempts"] as? [[String: Any]] ?? []
        #expect(attempts.map { $0["status"] as? Int } == [nil, 503, 200])
        #expect(attempts.first?["url"] as? String == "http://127.0.0.1:\(port)/v1/chat/completions")
        try await gateway.stop()
        try await failing.stop()
        try await good.stop()
        withExtendedLifetime(closed) {}
    }

    @Test("a fallback target that is neither a provider nor allow-listed is refused with 400 before anything is sent")
    func fallbackOutsideAllowlistRefused() async throws {
        let provider = try await Self.scripted([])
        let gateway = try await TestGateway.start(provider: provider)
        let reply = try await gateway.send(.POST, "/v1/chat/completions", body: Self.body, headers: [
            ("Helicone-Fallbacks", #"[{"target-url": "\#(provider.baseURL)"}, {"target-url": "http://127.0.0.2:9"}]"#),
        ])
        #expect(reply.status == 400)
        #expect(reply.text.contains("target_url_not_allowed"))
        #expect(reply.text.contains("entry 1"))
        #expect(provider.requests.isEmpty)
        try await gateway.stop()
        try await provider.stop()
    }

    // MARK: Rate limits

    @Test("a per-user request limit refuses that user's third call with 429 and the limit headers, lets another user through, and records the refusal")
    func rateLimitPerUser() async throws {
        let provider = try await Self.scripted([])
        let gateway = try await TestGateway.start(provider: provider)
        func call(_ user: String) async throws -> TestGateway.Reply {
            try await gateway.send(.POST, "/v1/chat/completions", body: Self.body, headers: [
                ("Helicone-RateLimit-Policy", "2;w=60;s=user"), ("Helicone-User-Id", user),
            ])
        }
        let first = try await call("ann")
        #expect(first.status == 200)
        #expect(first.headers.first(name: "Helicone-RateLimit-Limit") == "2")
        #expect(first.headers.first(name: "Helicone-RateLimit-Remaining") == "1")
        #expect(first.headers.first(name: "Helicone-RateLimit-Policy") == "2;w=60;s=user")
        #expect(try await call("ann").status == 200)
        let refused = try await call("ann")
        #expect(refused.status == 429)
        #expect(refused.headers.first(name: "Helicone-RateLimit-Remaining") == "0")
        #expect(Int(refused.headers.first(name: "Retry-After") ?? "") ?? 0 >= 1)
        #expect((refused.json?["error"] as? [String: Any])?["type"] as? String == "rate_limited")
        #expect(try await call("bob").status == 200)
        #expect(provider.requests.count == 3)
        let record = try await gateway.record(refused.headers.first(name: "Helicone-Id")!)
        #expect(record["status"] as? Int == 429)
        #expect((record["error"] as? String)?.hasPrefix("rate_limited") == true)
        #expect(record["user_id"] as? String == "ann")
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("an operator's limit on a gateway key applies to calls that send no policy header")
    func operatorLimitApplies() async throws {
        let provider = try await Self.scripted([])
        let gateway = try await TestGateway.start(provider: provider) { config in
            config.auth.gatewayKeys = [.init(key: "gk-a", project: "a")]
            config.auth.rateLimits = ["gk-a": [RateLimitPolicy(quota: 1, windowSeconds: 60)]]
        }
        let headers = [("Helicone-Auth", "Bearer gk-a")]
        #expect(try await gateway.send(.POST, "/v1/chat/completions", body: Self.body, headers: headers).status == 200)
        let refused = try await gateway.send(.POST, "/v1/chat/completions", body: Self.body, headers: headers)
        #expect(refused.status == 429)
        #expect(refused.headers.first(name: "Helicone-RateLimit-Policy") == "1;w=60")
        #expect(provider.requests.count == 1)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("a cents limit admits a call while budget is left and charges its real cost once recorded, so the next call is refused")
    func centsLimitChargesCost() async throws {
        // 100,000 input tokens of gpt-4o-mini at $0.15 per million: $0.015, 1.5 cents.
        let provider = try await FakeServer.start { _, _ in FakeServer.json(Self.answer("costly", prompt: 100_000, completion: 0)) }
        let gateway = try await TestGateway.start(provider: provider)
        let headers = [("Helicone-RateLimit-Policy", "1;w=60;u=cents")]
        let first = try await gateway.send(.POST, "/v1/chat/completions", body: Self.body, headers: headers)
        #expect(first.status == 200)
        let record = try await gateway.record(first.headers.first(name: "Helicone-Id")!)
        #expect(abs((record["cost_usd"] as? Double ?? 0) - 0.015) < 1e-12)
        let refused = try await gateway.send(.POST, "/v1/chat/completions", body: Self.body, headers: headers)
        #expect(refused.status == 429)
        #expect(refused.headers.first(name: "Helicone-RateLimit-Policy") == "1;w=60;u=cents")
        #expect(provider.requests.count == 1)
        try await gateway.stop()
        try await provider.stop()
    }
}

import Foundation
import Testing
@testable import TollgateCore

@Suite("Gateway control headers")
struct GatewayControlsTests {
    static func parse(_ headers: [(String, String)]) throws(GatewayHeaderError) -> GatewayControls {
        try GatewayHeaders.parse(headers.map { (name: $0.0, value: $0.1) }).controls
    }

    static func refusal(_ headers: [(String, String)]) -> String? {
        do {
            _ = try parse(headers)
            return nil
        } catch {
            return error.message
        }
    }

    @Test("a call without control headers asks for nothing")
    func noHeadersNoControls() throws {
        #expect(try Self.parse([("Helicone-User-Id", "u"), ("Cache-Control", "max-age=60")]).isEmpty)
    }

    @Test("the cache headers read as Helicone documents them, max-age from Cache-Control")
    func cacheHeaders() throws {
        let controls = try Self.parse([
            ("helicone-cache-enabled", "TRUE"), ("Cache-Control", "public, max-age=3600"), ("Helicone-Cache-Bucket-Max-Size", "3"),
            ("Helicone-Cache-Seed", "user-42"), ("Helicone-Cache-Ignore-Keys", "user, metadata"),
        ])
        #expect(controls.cache == CacheControl(maxAgeSeconds: 3600, bucketMaxSize: 3, seed: "user-42", ignoreKeys: ["user", "metadata"]))
        #expect(try Self.parse([("Helicone-Cache-Enabled", "true")]).cache == CacheControl(maxAgeSeconds: 7 * 86_400, bucketMaxSize: 1))
        #expect(try Self.parse([("Helicone-Cache-Enabled", "false"), ("Helicone-Cache-Seed", "x")]).cache == nil)
    }

    @Test("a malformed control header is refused with a message naming the header and its form")
    func malformedHeadersNameThemselves() {
        #expect(Self.refusal([("Helicone-Cache-Enabled", "yes")]) == "Helicone-Cache-Enabled must be true or false, got 'yes'")
        #expect(Self.refusal([("Helicone-Cache-Enabled", "true"), ("Helicone-Cache-Bucket-Max-Size", "21")])
            == "Helicone-Cache-Bucket-Max-Size must be a whole number from 1 to 20, got '21'")
        #expect(Self.refusal([("Helicone-Cache-Enabled", "true"), ("Cache-Control", "max-age=forever")])?.hasPrefix("Cache-Control max-age must be a whole number of seconds from 0 to 31536000") == true)
        #expect(Self.refusal([("Helicone-Retry-Enabled", "true"), ("Helicone-Retry-Num", "-1")]) == "Helicone-Retry-Num must be a whole number from 0 to 20, got '-1'")
        #expect(Self.refusal([("Helicone-Retry-Enabled", "true"), ("Helicone-Retry-Min-Timeout", "5000"), ("Helicone-Retry-Max-Timeout", "100")])
            == "Helicone-Retry-Min-Timeout (5000 ms) must not be more than Helicone-Retry-Max-Timeout (100 ms)")
        #expect(Self.refusal([("Helicone-RateLimit-Policy", "100;w=30")])?.contains("window that is not 60 to 31536000 seconds") == true)
        #expect(Self.refusal([("Helicone-RateLimit-Policy", "0;w=60")])?.contains("quota above 0") == true)
        #expect(Self.refusal([("Helicone-RateLimit-Policy", "10;w=60;u=tokens")])?.contains("unit that is not request or cents") == true)
        #expect(Self.refusal([("Helicone-Fallbacks", "https://a.example")])?.hasPrefix("Helicone-Fallbacks is not a JSON array") == true)
        #expect(Self.refusal([("Helicone-Fallbacks", #"[{"target-url": "ftp://x"}]"#)])?.contains("entry 0 has a target-url that is not an http(s) URL") == true)
        #expect(Self.refusal([("Helicone-Fallbacks", #"[{"target-url": "https://x.example", "headers": {"x-a": "1\r\nx-b: 2"}}]"#)])?.contains("cannot be sent") == true)
    }

    @Test("rate-limit policies read per Helicone's form and write back the same way")
    func rateLimitPolicies() throws {
        #expect(try RateLimitPolicy(header: "1000;w=3600") == RateLimitPolicy(quota: 1000, windowSeconds: 3600))
        let perUser = try RateLimitPolicy(header: "500; w=60; u=cents; s=user")
        #expect(perUser == RateLimitPolicy(quota: 500, windowSeconds: 60, unit: .cents, segment: .user))
        #expect(perUser.header == "500;w=60;u=cents;s=user")
        let perProperty = try RateLimitPolicy(header: "10;w=60;s=Organization")
        #expect(perProperty.segment == .property("organization"))
        #expect(perProperty.subject(user: "u", properties: [Property(name: "ORGANIZATION", value: "acme")]) == "property:organization:acme")
        #expect(perProperty.subject(user: "u", properties: []) == "property-absent:organization", "calls without the property share one count")
        #expect(perUser.subject(user: nil, properties: []) == "user-absent", "leaving the user out does not escape a per-user limit")
        #expect(perUser.subject(user: "absent", properties: []) != perUser.subject(user: nil, properties: []))
        #expect(RateLimitPolicy(quota: 1, windowSeconds: 60).subject(user: nil, properties: []) == "project")
    }

    @Test("the sliding window lets the quota through, refuses the next call and says when to retry")
    func slidingWindow() {
        let policy = RateLimitPolicy(quota: 10, windowSeconds: 60)
        let start = Date(timeIntervalSince1970: 1_764_000_000)  // a whole minute
        // 9 used in this window, none before: the 10th fits and leaves 0.
        #expect(RateLimitWindow.decide(policy: policy, previous: 0, current: 9, now: start + 10, cost: 1)
            == .init(allowed: true, remaining: 0, retryAfterSeconds: nil))
        // 10 used: refused until the window ends, 50 s later.
        #expect(RateLimitWindow.decide(policy: policy, previous: 0, current: 10, now: start + 10, cost: 1)
            == .init(allowed: false, remaining: 0, retryAfterSeconds: 50))
        // Half-way into a window after a full one: 10 × 0.5 + 4 = 9 used, one left.
        #expect(RateLimitWindow.decide(policy: policy, previous: 10, current: 4, now: start + 30, cost: 1)
            == .init(allowed: true, remaining: 0, retryAfterSeconds: nil))
        // 10 × 0.5 + 5 = 10 used: the previous window's weight must fall by 1, i.e. 6 s.
        #expect(RateLimitWindow.decide(policy: policy, previous: 10, current: 5, now: start + 30, cost: 1)
            == .init(allowed: false, remaining: 0, retryAfterSeconds: 6))
        // Cents: checked before the call (any budget left), charged after.
        let cents = RateLimitPolicy(quota: 100, windowSeconds: 60, unit: .cents)
        #expect(RateLimitWindow.decide(policy: cents, previous: 0, current: 99.5, now: start + 1, cost: 0).allowed)
        #expect(!RateLimitWindow.decide(policy: cents, previous: 0, current: 100.2, now: start + 1, cost: 0).allowed)
    }

    @Test("retries wait min-timeout × factor^n within the bounds, jittered by up to half, and honour Retry-After")
    func retryDelays() throws {
        let retry = try #require(try Self.parse([("Helicone-Retry-Enabled", "true"), ("Helicone-Retry-Num", "3"), ("Helicone-Retry-Factor", "2"),
                                                 ("Helicone-Retry-Min-Timeout", "100"), ("Helicone-Retry-Max-Timeout", "1000")]).retry)
        #expect(retry == RetryControl(retries: 3, factor: 2, minTimeoutMs: 100, maxTimeoutMs: 1000))
        #expect([1, 2, 3, 4, 5].map { retry.delayMs(retry: $0, unit: 0) } == [100, 200, 400, 800, 1000])
        #expect([1, 2, 3, 4, 5].map { retry.delayMs(retry: $0, unit: 0.999_999) } == [100, 100, 200, 400, 500])
        let now = Date(timeIntervalSince1970: 1_764_000_000)
        #expect(retry.next(status: 503, retryAfter: nil, retriesMade: 0, now: now, unit: 0) == 100)
        #expect(retry.next(status: nil, retryAfter: nil, retriesMade: 1, now: now, unit: 0) == 200, "no connection is retried")
        #expect(retry.next(status: 429, retryAfter: "0.7", retriesMade: 0, now: now, unit: 0) == 700)
        #expect(retry.next(status: 429, retryAfter: "Sun, 23 Nov 2025 16:00:00 GMT", retriesMade: 0, now: Date(timeIntervalSince1970: 1_763_913_599.5), unit: 0) == 500)
        #expect(retry.next(status: 429, retryAfter: "30", retriesMade: 0, now: now, unit: 0) == nil, "a wait past max-timeout gives the 429 to the caller")
        #expect(retry.next(status: 400, retryAfter: nil, retriesMade: 0, now: now, unit: 0) == nil)
        #expect(retry.next(status: 500, retryAfter: nil, retriesMade: 3, now: now, unit: 0) == nil)
    }

    @Test("fallback entries read target, headers, codes and body overrides; without onCodes, 429 and 5xx move on")
    func fallbackEntries() throws {
        let list = try #require(try Self.parse([("Helicone-Fallbacks", #"""
            [{"target-url": "https://api.openai.com", "headers": {"Authorization": "Bearer sk-a"}, "onCodes": [429, {"from": 500, "to": 599}]},
             {"target-url": "https://api.together.xyz", "bodyKeyOverride": {"model": "meta-llama/Llama-3-70b"}}]
            """#)]).fallbacks)
        #expect(list.count == 2)
        #expect(list[0].headers.map(\.0) == ["Authorization"])
        #expect(list[0].fallsThrough(status: 429) && list[0].fallsThrough(status: 503) && !list[0].fallsThrough(status: 400))
        #expect(list[1].onCodes == FallbackTarget.defaultCodes)
        #expect(list[1].bodyKeyOverride.map(\.0) == ["model"])
    }

    @Test("the cache key separates projects, providers, paths, bodies and seeds, skips ignored body keys, and never sees credentials")
    func cacheKeys() {
        let body = Array(#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"user":"alice"}"#.utf8)
        func key(project: String = "p", provider: String = "openai", path: String = "/v1/chat/completions", body: [UInt8] = body, seed: String? = nil, ignore: [String] = []) -> String {
            CacheKey.make(project: project, provider: provider, method: "POST", path: path, body: body, seed: seed, ignoreKeys: ignore)
        }
        let base = key()
        #expect(base.count == 64)
        #expect(key() == base)
        #expect(key(project: "q") != base)
        #expect(key(provider: "anthropic") != base)
        #expect(key(path: "/v1/completions") != base)
        #expect(key(seed: "s") != base)
        #expect(key(body: Array(#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"user":"alice"}"#.utf8)) != base)
        let otherUser = Array(#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"user":"bob"}"#.utf8)
        #expect(key(body: otherUser, ignore: ["user"]) == key(ignore: ["user"]), "an ignored key does not split the cache")
        #expect(key(body: otherUser) != base)
        // Fields cannot run into each other: "p"+"x/y" is not "px"+"/y".
        #expect(key(project: "p", path: "x/y") != key(project: "px", path: "/y"))
        // A key in the query (Gemini's ?key=, Azure's api-key) is not part of the cache key; other parameters are.
        let gemini = "/v1beta/models/gemini-2.5-flash:generateContent"
        #expect(key(path: gemini + "?key=secret-1&alt=sse") == key(path: gemini + "?key=secret-2&alt=sse"))
        #expect(key(path: gemini + "?key=secret-1") == key(path: gemini))
        #expect(key(path: gemini + "?alt=sse") != key(path: gemini))
        #expect(CacheKey.keyedPath("/x?API-KEY=a&b=1&access_token=t") == "/x?b=1")
    }
}

@Suite("What follows an attempt, and where a fallback entry sends the call")
struct AttemptPlanTests {
    static let fallbacks = [
        FallbackTarget(targetURL: "https://a.example", onCodes: [429...429]),
        FallbackTarget(targetURL: "https://b.example"),
        FallbackTarget(targetURL: "https://c.example"),
    ]

    static func next(_ status: Int?, retryAfter: String? = nil, entry: Int = 0, fallbacks: [FallbackTarget]? = fallbacks, retry: RetryControl? = nil, retriesMade: Int = 0) -> AttemptPlan.Step {
        AttemptPlan.next(status: status, retryAfter: retryAfter, entry: entry, fallbacks: fallbacks, retry: retry, retriesMade: retriesMade, now: Date(timeIntervalSince1970: 0), unit: 0)
    }

    @Test("an answer is given to the caller unless the entry's onCodes or the retry bounds pass it over")
    func fallbackOnCodes() {
        #expect(Self.next(200) == .answer)
        #expect(Self.next(429) == .fallback(to: 1))
        #expect(Self.next(500) == .answer, "entry 0 falls back on 429 only")
        #expect(Self.next(500, entry: 1) == .fallback(to: 2))
        #expect(Self.next(nil, entry: 1) == .fallback(to: 2), "an unreachable entry always moves on")
        #expect(Self.next(503, entry: 2) == .answer, "the last entry's answer is the caller's")
        #expect(Self.next(nil, entry: 2) == .answer)
        #expect(Self.next(500, fallbacks: nil) == .answer)
    }

    @Test("an entry is retried within its bounds before the call falls back, and a Retry-After beyond max-timeout moves on at once")
    func retriesBeforeFallback() {
        let retry = RetryControl(retries: 2, factor: 2, minTimeoutMs: 100, maxTimeoutMs: 1000)
        #expect(Self.next(429, retry: retry) == .retry(afterMs: 100))
        #expect(Self.next(429, retry: retry, retriesMade: 1) == .retry(afterMs: 200))
        #expect(Self.next(429, retry: retry, retriesMade: 2) == .fallback(to: 1))
        #expect(Self.next(429, retryAfter: "5", retry: retry) == .fallback(to: 1))
        #expect(Self.next(429, retryAfter: "0.5", retry: retry) == .retry(afterMs: 500))
        #expect(Self.next(nil, fallbacks: nil, retry: retry) == .retry(afterMs: 100))
        #expect(Self.next(400, fallbacks: nil, retry: retry) == .answer)
    }

    @Test("a fallback entry keeps the request's path after its provider prefix; a configured provider's base URL brings its name, format and base path; others must be allow-listed")
    func fallbackTargets() throws {
        let table = RoutingTable(
            providers: [
                ProviderRoute(name: "openai", origin: Origin("https://api.openai.com")!, format: .openai),
                ProviderRoute(name: "anthropic", origin: Origin("https://api.anthropic.com")!, format: .anthropic),
                ProviderRoute(name: "groq", origin: Origin("https://api.groq.com/openai")!, format: .openai),
            ],
            allowedTargetOrigins: ["https://mirror.example"]
        )
        let routed = try table.resolve(path: "/anthropic/v1/messages", query: "beta=1", targetURL: nil).get()
        let mirror = try table.fallback("https://mirror.example", index: 0, path: "/anthropic/v1/messages", query: "beta=1", routed: routed).get()
        #expect(mirror.url == "https://mirror.example/v1/messages?beta=1")
        #expect(mirror.format == .anthropic)
        let groq = try table.fallback("https://api.groq.com/openai", index: 1, path: "/v1/chat/completions", query: nil, routed: routed).get()
        #expect(groq.url == "https://api.groq.com/openai/v1/chat/completions")
        #expect(groq.provider == "groq")
        let openai = try table.fallback("https://api.openai.com/", index: 1, path: "/openai/v1/chat/completions", query: nil, routed: routed).get()
        #expect(openai.url == "https://api.openai.com/v1/chat/completions")
        #expect(openai.provider == "openai")
        guard case .failure(let refused) = table.fallback("https://evil.example", index: 2, path: "/v1/x", query: nil, routed: routed) else {
            Issue.record("an origin outside the allowlist was accepted")
            return
        }
        #expect(refused.status == 400)
        #expect(refused.type == "target_url_not_allowed")
        #expect(refused.message.contains("entry 2"))
    }

    @Test("bodyKeyOverride replaces and adds top-level keys of a JSON body and leaves any other body alone")
    func bodyOverride() throws {
        let merged = FallbackTarget.merge([("model", .string("gpt-4o")), ("seed", .number(7))], into: Array(#"{"model":"a","messages":[]}"#.utf8))
        #expect(String(decoding: merged, as: UTF8.self) == #"{"model":"gpt-4o","messages":[],"seed":7}"#)
        #expect(FallbackTarget.merge([("model", .string("x"))], into: Array("not json".utf8)) == Array("not json".utf8))
    }

    @Test("attempts survive the store's JSON text, invalid UTF-8 in an answer's start included")
    func attemptsRoundTrip() {
        let attempts = [
            Attempt(url: "https://a.example/v1/x", status: nil, durationMs: 1.25, error: "upstream_unreachable: refused"),
            Attempt(url: "https://a.example/v1/x", status: 500, durationMs: 3, response: Attempt.responseStart([0x7b, 0xff, 0x7d] + Array(repeating: 0x61, count: 2000))),
        ]
        let decoded = Attempt.decode(Attempt.encode(attempts))
        #expect(decoded == attempts)
        #expect(attempts[1].response?.hasPrefix("{\u{FFFD}}") == true)
        #expect(attempts[1].response?.utf8.count ?? 0 <= Attempt.keptResponseBytes + 2)
    }
}

import Crypto
import Foundation
import Hummingbird
import NIOConcurrencyHelpers
@testable import TollgateServer
import Testing
import TollgateCore

@Suite("Webhook deliveries")
struct WebhookDeliveryTests {
    /// A gateway whose providers are `provider`, allowed to deliver to loopback receivers, with quick retries.
    static func gateway(_ provider: FakeServer, _ configure: (inout TollgateServer.GatewayConfig) -> Void = { _ in }) async throws -> TestGateway {
        try await TestGateway.start(provider: provider) { config in
            config.webhooks.allowedPrivateHosts = ["127.0.0.1"]
            config.webhooks.retrySchedule = [.milliseconds(50), .milliseconds(50), .milliseconds(50)]
            configure(&config)
        }
    }

    static func hmacHex(_ body: [UInt8], key: String) -> String {
        HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(key.utf8))).map { String(format: "%02x", $0) }.joined()
    }

    @Test("a matching call is delivered once, signed with the key the user was shown, with the doc's payload fields")
    func matchingCallIsDeliveredSigned() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let receiver = try await FakeServer.start { _, _ in FakeServer.json(#"{"ok":true}"#) }
        let gateway = try await Self.gateway(provider)
        let webhook = try await gateway.createWebhook(#"{"destination": "\#(receiver.baseURL)/hook", "config": {"sampleRate": 100, "propertyFilters": {"environment": "production", "userId": "user-123"}}, "includeData": true}"#)
        let key = try #require(webhook["hmac_key"] as? String)
        #expect((webhook["webhook_secret"] as? String)?.hasPrefix("whsec_") == true)

        let matching = try await gateway.send(.POST, "/v1/chat/completions", body: #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#, headers: [
            ("Helicone-Property-Environment", "production"), ("Helicone-Property-UserId", "user-123"), ("Helicone-User-Id", "u-42"),
        ])
        _ = try await gateway.send(.POST, "/v1/chat/completions", body: "{}", headers: [("Helicone-Property-Environment", "Production"), ("Helicone-Property-UserId", "user-123")])
        let id = try #require(matching.headers.first(name: "helicone-id"))
        let delivery = try #require(try await receiver.waitForRequests(1).first)
        #expect(delivery.path == "/hook")
        #expect(delivery.headers[.contentType] == "application/json")
        #expect(delivery.headers[.init("Helicone-Signature")!] == Self.hmacHex(delivery.body, key: key))
        let payload = try #require(delivery.json)
        #expect(payload["request_id"] as? String == id)
        #expect(payload["user_id"] as? String == "u-42")
        #expect(payload["model"] as? String == "gpt-4o-mini-2024-07-18")
        #expect(payload["provider"] as? String == "openai")
        #expect((payload["request_body"] as? String)?.contains(#""content":"hi""#) == true)
        #expect((payload["response_body"] as? String) == ProviderFixtures.chatCompletion)
        let metadata = try #require(payload["metadata"] as? [String: Any])
        #expect(metadata["promptTokens"] as? Int == 1000)
        #expect(metadata["completionTokens"] as? Int == 200)
        #expect(metadata["totalTokens"] as? Int == 1200)
        let url = try #require(payload["request_response_url"] as? String)
        let fetched = try await gateway.send(.GET, String(url.dropFirst(gateway.baseURL.count)))
        #expect(fetched.status == 200)
        #expect(((fetched.json?["response"] as? [String: Any])?["id"] as? String) == "chatcmpl-1")
        // The call whose value differs only in case matched nothing.
        try await Task.sleep(for: .milliseconds(300))
        #expect(receiver.requests.count == 1)
        try await gateway.stop()
        try await receiver.stop()
        try await provider.stop()
    }

    @Test("a receiver that fails twice gets three attempts with the same webhook-id, all in the log")
    func retriesUntilSuccess() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let count = Counter()
        let receiver = try await FakeServer.start { _, _ in
            count.next() <= 2 ? FakeServer.json(#"{"error":"busy"}"#, status: .internalServerError) : FakeServer.json("{}")
        }
        let gateway = try await Self.gateway(provider)
        let webhook = try await gateway.createWebhook(#"{"destination": "\#(receiver.baseURL)/hook"}"#)
        let webhookID = try #require(webhook["id"] as? String)
        _ = try await gateway.send(.POST, "/v1/chat/completions", body: "{}")
        let attempts = try await receiver.waitForRequests(3)
        let ids = Set(attempts.map { $0.headers[.init("webhook-id")!] ?? "" })
        #expect(ids.count == 1 && ids.first?.hasPrefix("msg_") == true)
        let log = try await waitForDelivery(gateway, webhookID) { $0["status"] as? String == "succeeded" }
        let entries = try #require(log["attempt_log"] as? [[String: Any]])
        #expect(entries.map { $0["status_code"] as? Int } == [500, 500, 200])
        #expect((entries.first?["response"] as? String) == #"{"error":"busy"}"#)
        #expect(log["attempts"] as? Int == 3)
        try await Task.sleep(for: .milliseconds(200))
        #expect(receiver.requests.count == 3)
        let metrics = try await gateway.send(.GET, "/metrics").text
        #expect(metrics.contains(#"tollgate_webhook_attempts_total{outcome="rejected"} 2"#))
        #expect(metrics.contains(#"tollgate_webhook_attempts_total{outcome="delivered"} 1"#))
        try await gateway.stop()
        try await receiver.stop()
        try await provider.stop()
    }

    @Test("a receiver that never answers times out and is retried")
    func silentReceiverTimesOut() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let release = Gate()
        let receiver = try await FakeServer.start { _, _ in
            await release.wait()
            return FakeServer.json("{}")
        }
        let gateway = try await Self.gateway(provider) { $0.webhooks.timeout = .milliseconds(300) }
        let webhook = try await gateway.createWebhook(#"{"destination": "\#(receiver.baseURL)/hook"}"#)
        _ = try await gateway.send(.POST, "/v1/chat/completions", body: "{}")
        _ = try await receiver.waitForRequests(2)
        let log = try await waitForDelivery(gateway, try #require(webhook["id"] as? String)) { ($0["attempts"] as? Int ?? 0) >= 2 }
        let first = try #require((log["attempt_log"] as? [[String: Any]])?.first)
        #expect((first["error"] as? String)?.contains("no answer within") == true)
        #expect(first["status_code"] is NSNull)
        release.open()
        try await gateway.stop()
        try await receiver.stop()
        try await provider.stop()
    }

    @Test("a redirect from the receiver is not followed")
    func redirectNotFollowed() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let elsewhere = try await FakeServer.start { _, _ in FakeServer.json("{}") }
        let receiver = try await FakeServer.start { _, _ in
            Response(status: .found, headers: [.location: elsewhere.baseURL + "/stolen"])
        }
        let gateway = try await Self.gateway(provider)
        let webhook = try await gateway.createWebhook(#"{"destination": "\#(receiver.baseURL)/hook"}"#)
        _ = try await gateway.send(.POST, "/v1/chat/completions", body: "{}")
        let log = try await waitForDelivery(gateway, try #require(webhook["id"] as? String)) { ($0["attempts"] as? Int ?? 0) >= 1 }
        #expect((log["attempt_log"] as? [[String: Any]])?.first?["status_code"] as? Int == 302)
        #expect(elsewhere.requests.isEmpty)
        try await gateway.stop()
        try await receiver.stop()
        try await elsewhere.stop()
        try await provider.stop()
    }

    /// This machine's host name, when it resolves to a loopback address (it does through /etc/hosts
    /// on these machines): a name that passes the save-time check but must be refused at connect time.
    static let loopbackHostName: String? = {
        let name = ProcessInfo.processInfo.hostName
        guard !name.isEmpty, name != "localhost", case let info = WebhookSender.resolveBlocking(name), info.contains(where: { $0.hasPrefix("127.") || $0 == "::1" }) else { return nil }
        return name
    }()

    @Test("a private destination is refused, at save time and at connect time, unless allowed", .enabled(if: loopbackHostName != nil, "needs a host name that resolves to loopback"))
    func privateDestinationRefused() async throws {
        let hostName = try #require(Self.loopbackHostName)
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let receiver = try await FakeServer.start { _, _ in FakeServer.json("{}") }
        let gateway = try await TestGateway.start(provider: provider) { $0.webhooks.retrySchedule = [.seconds(60)] }
        let plain = try await gateway.admin("/v1/webhooks", .POST, body: #"{"destination": "\#(receiver.baseURL)/hook"}"#)
        #expect(plain.status == 400)
        #expect((plain.json?["error"] as? String)?.contains("webhooks.allowed_private_hosts") == true)
        // A name that resolves to loopback passes the save-time check and is refused when connecting.
        let port = receiver.server.port
        let webhook = try await gateway.createWebhook(#"{"destination": "https://\#(hostName):\#(port)/hook"}"#)
        _ = try await gateway.send(.POST, "/v1/chat/completions", body: "{}")
        let log = try await waitForDelivery(gateway, try #require(webhook["id"] as? String)) { ($0["attempts"] as? Int ?? 0) >= 1 }
        let error = try #require((log["attempt_log"] as? [[String: Any]])?.first?["error"] as? String)
        #expect(error.contains("loopback") || error.contains("private"))
        #expect(receiver.requests.isEmpty)
        try await gateway.stop()
        try await receiver.stop()
        try await provider.stop()
    }

    @Test("one project's calls never reach another project's webhooks, and its admin key cannot see them")
    func projectsAreIsolated() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let receiverA = try await FakeServer.start { _, _ in FakeServer.json("{}") }
        let receiverB = try await FakeServer.start { _, _ in FakeServer.json("{}") }
        let gateway = try await Self.gateway(provider) { config in
            config.auth.gatewayKeys = [.init(key: "gk-a", project: "a"), .init(key: "gk-b", project: "b")]
            config.admin.projectKeys = [.init(key: "admin-a", project: "a"), .init(key: "admin-b", project: "b")]
        }
        let hookA = try await gateway.createWebhook(#"{"destination": "\#(receiverA.baseURL)/a"}"#, key: "admin-a")
        _ = try await gateway.createWebhook(#"{"destination": "\#(receiverB.baseURL)/b"}"#, key: "admin-b")
        #expect(hookA["project"] as? String == "a")
        _ = try await gateway.send(.POST, "/v1/chat/completions", body: "{}", headers: [("Helicone-Auth", "Bearer gk-a")])
        _ = try await receiverA.waitForRequests(1)
        try await Task.sleep(for: .milliseconds(300))
        #expect(receiverB.requests.isEmpty)
        let idA = try #require(hookA["id"] as? String)
        #expect(try await gateway.admin("/v1/webhooks/\(idA)", key: "admin-b").status == 404)
        #expect(try await gateway.admin("/v1/webhooks/\(idA)", .DELETE, key: "admin-b").status == 404)
        let listedB = try await gateway.admin("/v1/webhooks", key: "admin-b").json?["data"] as? [[String: Any]]
        #expect(listedB?.map { $0["project"] as? String } == ["b"])
        let listedAll = try await gateway.admin("/v1/webhooks").json?["data"] as? [[String: Any]]
        #expect(listedAll?.count == 2)
        try await gateway.stop()
        for server in [receiverA, receiverB, provider] { try await server.stop() }
    }

    @Test("sample rate 0 delivers nothing; disabled webhooks match nothing; re-enabling and re-sending works")
    func sampleRateAndDisable() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let receiver = try await FakeServer.start { _, _ in FakeServer.json("{}") }
        let gateway = try await Self.gateway(provider)
        let never = try await gateway.createWebhook(#"{"destination": "\#(receiver.baseURL)/never", "config": {"sampleRate": 0}}"#)
        let always = try await gateway.createWebhook(#"{"destination": "\#(receiver.baseURL)/always", "config": {"sampleRate": 100}}"#)
        let alwaysID = try #require(always["id"] as? String)
        for _ in 0..<5 { _ = try await gateway.send(.POST, "/v1/chat/completions", body: "{}") }
        _ = try await receiver.waitForRequests(5)
        try await Task.sleep(for: .milliseconds(200))
        #expect(receiver.requests.allSatisfy { $0.path == "/always" })
        let neverDeliveries = try await gateway.admin("/v1/webhooks/\(try #require(never["id"] as? String))/deliveries").json?["data"] as? [Any]
        #expect(neverDeliveries?.isEmpty == true)

        let disabled = try await gateway.admin("/v1/webhooks/\(alwaysID)", .PATCH, body: #"{"enabled": false}"#)
        #expect((disabled.json?["data"] as? [String: Any])?["enabled"] as? Bool == false)
        _ = try await gateway.send(.POST, "/v1/chat/completions", body: "{}")
        try await Task.sleep(for: .milliseconds(300))
        #expect(receiver.requests.count == 5)

        _ = try await gateway.admin("/v1/webhooks/\(alwaysID)", .PATCH, body: #"{"enabled": true}"#)
        let resent = try await gateway.admin("/v1/webhooks/\(alwaysID)/resend", .POST, body: #"{"since": "2000-01-01T00:00:00Z"}"#)
        #expect((resent.json?["data"] as? [String: Any])?["resent"] as? Int == 5)
        _ = try await receiver.waitForRequests(10)
        try await gateway.stop()
        try await receiver.stop()
        try await provider.stop()
    }

    @Test("after a key rotation both keys sign webhook-signature, and Helicone-Signature uses the new key")
    func keyRotation() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let receiver = try await FakeServer.start { _, _ in FakeServer.json("{}") }
        let gateway = try await Self.gateway(provider)
        let webhook = try await gateway.createWebhook(#"{"destination": "\#(receiver.baseURL)/hook"}"#)
        let id = try #require(webhook["id"] as? String)
        let oldKey = try #require(webhook["hmac_key"] as? String)
        let rotated = try await gateway.admin("/v1/webhooks/\(id)/rotate-key", .POST)
        let newKey = try #require((rotated.json?["data"] as? [String: Any])?["hmac_key"] as? String)
        #expect(newKey != oldKey)
        let test = try await gateway.admin("/v1/webhooks/\(id)/test", .POST)
        #expect(test.status == 200)
        let delivery = try #require(try await receiver.waitForRequests(1).first)
        #expect(delivery.headers[.init("Helicone-Signature")!] == Self.hmacHex(delivery.body, key: newKey))
        let signatures = try #require(delivery.headers[.init("webhook-signature")!]).split(separator: " ")
        #expect(signatures.count == 2)
        let msgID = try #require(delivery.headers[.init("webhook-id")!])
        let timestamp = try #require(delivery.headers[.init("webhook-timestamp")!])
        let signed = Array("\(msgID).\(timestamp).".utf8) + delivery.body
        for (signature, key) in zip(signatures, [newKey, oldKey]) {
            let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Array(key.utf8)))
            #expect(signature == "v1," + Data(mac).base64EncodedString())
        }
        try await gateway.stop()
        try await receiver.stop()
        try await provider.stop()
    }
}

extension WebhookDeliveryTests {
    @Test("a webhook declared in the config file exists at start and receives matching calls")
    func declaredInConfig() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let receiver = try await FakeServer.start { _, _ in FakeServer.json("{}") }
        let gateway = try await Self.gateway(provider) { config in
            config.webhooks.endpoints = [.init(
                destination: receiver.baseURL + "/declared", project: "default", sampleRate: 100, includeData: false,
                propertyFilters: [Property(name: "feature", value: "search")], key: "declared-key"
            )]
        }
        let listed = try #require(try await gateway.admin("/v1/webhooks").json?["data"] as? [[String: Any]])
        #expect(listed.count == 1 && listed.first?["destination"] as? String == receiver.baseURL + "/declared")
        _ = try await gateway.send(.POST, "/v1/chat/completions", body: "{}", headers: [("Helicone-Property-Feature", "search")])
        _ = try await gateway.send(.POST, "/v1/chat/completions", body: "{}")
        let delivery = try #require(try await receiver.waitForRequests(1).first)
        #expect(delivery.headers[.init("Helicone-Signature")!] == Self.hmacHex(delivery.body, key: "declared-key"))
        #expect(delivery.json?["metadata"] == nil)
        try await Task.sleep(for: .milliseconds(200))
        #expect(receiver.requests.count == 1)
        try await gateway.stop()
        try await receiver.stop()
        try await provider.stop()
    }
}

/// Polls a webhook's newest delivery until `done` holds for it.
func waitForDelivery(_ gateway: TestGateway, _ webhookID: String, timeout: Duration = .seconds(10), _ done: ([String: Any]) -> Bool) async throws -> [String: Any] {
    let deadline = ContinuousClock.now + timeout
    var last: [String: Any] = [:]
    while ContinuousClock.now < deadline {
        if let first = (try await gateway.admin("/v1/webhooks/\(webhookID)/deliveries").json?["data"] as? [[String: Any]])?.first {
            last = first
            if done(first) { return first }
        }
        try await Task.sleep(for: .milliseconds(25))
    }
    throw TestFailure("delivery did not reach the expected state; last: \(last)")
}

/// Counts calls across concurrent handlers.
final class Counter: Sendable {
    let value = NIOLockedValueBox(0)
    func next() -> Int { value.withLockedValue { $0 += 1; return $0 } }
}

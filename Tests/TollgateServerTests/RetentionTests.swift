import Foundation
import Testing
import TollgateServer

@Suite("Retention")
struct RetentionTests {
    @Test("records, bodies and finished delivery logs past their age are deleted in the background; newer ones stay")
    func oldDataIsDeleted() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let receiver = try await FakeServer.start { _, _ in FakeServer.json("{}") }
        let gateway = try await TestGateway.start(provider: provider) { config in
            config.webhooks.allowedPrivateHosts = ["127.0.0.1"]
            config.retention.recordsMaxAge = .milliseconds(1500)
            config.retention.deliveryLogsMaxAge = .milliseconds(1500)
            config.retention.interval = .milliseconds(200)
        }
        let webhook = try await gateway.createWebhook(#"{"destination": "\#(receiver.baseURL)/hook"}"#)
        let webhookID = try #require(webhook["id"] as? String)
        let old = try #require(try await gateway.send(.POST, "/v1/chat/completions", body: "{}").headers.first(name: "helicone-id"))
        let url = try #require(try await gateway.record(old)["request_response_url"] as? String)
        _ = try await waitForDelivery(gateway, webhookID) { $0["status"] as? String == "succeeded" }

        let deadline = ContinuousClock.now + .seconds(15)
        var gone = false
        var log: [Any]?
        // Records and delivery logs are swept separately, possibly one sweep apart: wait for both.
        while ContinuousClock.now < deadline, !(gone && log?.isEmpty == true) {
            try await Task.sleep(for: .milliseconds(100))
            gone = try await gateway.admin("/v1/requests/\(old)").status == 404
            log = try await gateway.admin("/v1/webhooks/\(webhookID)/deliveries").json?["data"] as? [Any]
        }
        #expect(gone, "the old record was not deleted")
        #expect(log?.isEmpty == true, "the finished delivery's log was not deleted")
        #expect(try await gateway.send(.GET, String(url.dropFirst(gateway.baseURL.count))).status == 404)

        let fresh = try #require(try await gateway.send(.POST, "/v1/chat/completions", body: "{}").headers.first(name: "helicone-id"))
        _ = try await gateway.record(fresh)
        #expect(try await gateway.admin("/v1/requests/\(fresh)").status == 200)
        try await gateway.stop()
        try await receiver.stop()
        try await provider.stop()
    }
}

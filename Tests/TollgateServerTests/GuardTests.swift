import Foundation
import Testing
import TollgateCore
@testable import TollgateServer

@Suite("Guards: admin keys, management paths, webhook destinations")
struct GuardTests {
    /// Sends `GET path` exactly as written (an HTTP client would normalise it) and returns the
    /// status and body.
    static func rawGET(_ gateway: TestGateway, _ path: String, headers: [(String, String)]) async throws -> (status: Int, body: String) {
        let head = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n"
        let answer = try await RawHTTP.exchange(port: gateway.server.port, request: Array(head.utf8))
        let status = Int(answer.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? 0
        let body = answer.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (status, body)
    }

    static func json(_ body: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
    }

    @Test("no spelling of a management path reaches the provider with the admin key: the API serves it or answers a JSON 404")
    func managementSpellingsStayInTheGateway() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let gateway = try await TestGateway.start(provider: provider)
        let admin = [("Authorization", "Bearer \(gateway.adminKey)")]
        // Spellings the router serves as the route they normalise to.
        for path in ["/v1//webhooks", "/v1/./webhooks", "/v1/%77ebhooks", "/v1/webhooks/", "/v1/chat/../webhooks", "/v1/%2e/stats",
                     "/openai/../v1/requests", "//v1/requests?limit=5"] {
            let reply = try await Self.rawGET(gateway, path, headers: admin)
            #expect(reply.status == 200, "\(path): \(reply.body)")
            #expect(Self.json(reply.body)?["data"] is [Any], "\(path): \(reply.body)")
        }
        // Spellings that look like management but are no route: a JSON 404 from the gateway.
        for path in ["/v1/Webhooks", "/v1/Requests", "/v1/Stats", "/v1/bodies", "/V1/webhooks", "/v1/stats/nope", "/v1/WEBHOOKS/x/test"] {
            let reply = try await Self.rawGET(gateway, path, headers: admin)
            #expect(reply.status == 404, "\(path): \(reply.body)")
            let error = Self.json(reply.body)?["error"] as? [String: Any]
            #expect(error?["type"] as? String == "not_found", "\(path): \(reply.body)")
        }
        #expect(provider.requests.isEmpty)
        let records = try await gateway.admin("/v1/requests").json?["data"] as? [Any]
        #expect(records?.isEmpty == true)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("a provider call carrying an admin key in any header or the query is refused with 403, not forwarded and not recorded")
    func adminKeysAreNeverForwarded() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let gateway = try await TestGateway.start(provider: provider) { config in
            config.admin.projectKeys = [.init(key: "admin-key-of-a", project: "a")]
        }
        let global = gateway.adminKey
        let carriers: [(path: String, headers: [(String, String)])] = [
            ("/v1/chat/completions", [("Authorization", "Bearer \(global)")]),
            ("/openai/v1/chat/completions", [("x-api-key", global)]),
            ("/anthropic/v1/messages", [("x-api-key", "admin-key-of-a")]),
            ("/v1/chat/completions", [("api-key", "admin-key-of-a")]),
            ("/v1/chat/completions", [("Helicone-Auth", "Bearer \(global)")]),
            ("/v1/chat/completions", [("Authorization", "Basic " + Data("user:\(global)".utf8).base64EncodedString())]),
            ("/v1/chat/completions?key=\(global)", []),
            ("/v1/chat/completions?key=admin%2Dkey%2Dof%2Da", []),
        ]
        for carrier in carriers {
            let reply = try await gateway.send(.POST, carrier.path, body: #"{"model":"gpt-4o-mini"}"#, headers: carrier.headers)
            #expect(reply.status == 403, "\(carrier)")
            let error = reply.json?["error"] as? [String: Any]
            #expect(error?["type"] as? String == "admin_key_refused", "\(carrier): \(reply.text)")
            #expect(reply.headers.first(name: "helicone-id") == nil)
        }
        // The same spellings of management paths as above, sent with GET to the proxy's side.
        for path in ["/v1/models", "/openai/v1/webhooks"] {
            let reply = try await Self.rawGET(gateway, path, headers: [("Authorization", "Bearer \(global)")])
            #expect(reply.status == 403, "\(path): \(reply.body)")
        }
        #expect(provider.requests.isEmpty)
        // A call with a provider key of its own still goes through, and only it is recorded.
        let ok = try await gateway.send(.POST, "/v1/chat/completions", body: #"{"model":"gpt-4o-mini"}"#, headers: [("Authorization", "Bearer sk-provider-\(global)x")])
        #expect(ok.status == 200)
        let id = try #require(ok.headers.first(name: "helicone-id"))
        _ = try await gateway.record(id)
        let records = try #require(try await gateway.admin("/v1/requests").json?["data"] as? [[String: Any]])
        #expect(records.map { $0["id"] as? String } == [id])
        #expect(provider.requests.count == 1)
        try await gateway.stop()
        try await provider.stop()
    }

    @Test("a gateway key that is also an admin key stops the gateway at start")
    func gatewayKeyEqualToAnAdminKeyIsRefused() async throws {
        await #expect(throws: ConfigError.self) {
            try await TestGateway.start { config in config.auth.gatewayKeys = [.init(key: "test-admin-key", project: "p")] }
        }
    }

    @Test("a stored webhook with an encoded host is refused before any connection, so its attempt log cannot tell an open port from a closed one")
    func encodedHostsAreRefusedBeforeConnecting() async throws {
        let open = try await FakeServer.start { _, _ in FakeServer.json("{}") }
        let closed = try ClosedPort()
        let closedPort = closed.port
        let sender = WebhookSender(policy: try DestinationPolicy(allowedPrivateHosts: []), timeout: .seconds(5), maxConnectionsPerHost: 1)
        var errors: [String] = []
        for port in [open.server.port, closedPort] {
            for host in ["%31%32%37.0.0.1", "127%2e0%2e0%2e1", "%6c%6f%63%61%6c%68%6f%73%74"] {
                let sent = await sender.send(destination: "https://\(host):\(port)/hook", body: Array("{}".utf8), messageID: "msg_1", keys: ["k"])
                #expect(sent.outcome == .refusedDestination, "\(host):\(port)")
                errors.append(sent.error?.replacingOccurrences(of: "\(port)", with: "PORT") ?? "")
            }
        }
        #expect(errors[0..<3] == errors[3..<6])
        #expect(errors.allSatisfy { $0.contains("its host is percent-encoded") }, "\(errors)")
        try await sender.shutdown()
        try await open.stop()
        withExtendedLifetime(closed) {}
    }

    static let encodedOrNumeric = [
        "https://%31%32%37.0.0.1:PORT/hook", "https://127%2e0%2e0%2e1:PORT/hook", "https://%6c%6f%63%61%6c%68%6f%73%74:PORT/hook",
        "https://%31%36%39.254.169.254/latest/meta-data", "https://127.1:PORT/hook", "https://2130706433:PORT/hook",
        "https://0x7f000001:PORT/hook", "https://0177.0.0.1:PORT/hook",
    ]

    @Test("a webhook destination with a percent-encoded or numeric host is refused when created, changed or declared, and never connected to")
    func encodedWebhookHostsAreRefused() async throws {
        let provider = try await FakeServer.start { _, _ in FakeServer.json(ProviderFixtures.chatCompletion) }
        let receiver = try await FakeServer.start { _, _ in FakeServer.json("{}") }
        let gateway = try await TestGateway.start(provider: provider) { $0.webhooks.retrySchedule = [.seconds(60)] }
        let destinations = Self.encodedOrNumeric.map { $0.replacingOccurrences(of: "PORT", with: "\(receiver.server.port)") }
        for destination in destinations {
            let reply = try await gateway.admin("/v1/webhooks", .POST, body: #"{"destination": "\#(destination)"}"#)
            #expect(reply.status == 400, "\(destination): \(reply.text)")
            let error = reply.json?["error"] as? String ?? ""
            #expect(error.hasPrefix("webhook destination \(destination) refused: "), "\(error)")
            #expect(error.contains("percent-encoded") || error.contains("numeric form"), "\(error)")
        }
        let listed = try await gateway.admin("/v1/webhooks").json?["data"] as? [Any]
        #expect(listed?.isEmpty == true)

        let webhook = try await gateway.createWebhook(#"{"destination": "https://hooks.example.com/x", "enabled": false}"#)
        let id = try #require(webhook["id"] as? String)
        for destination in destinations {
            let reply = try await gateway.admin("/v1/webhooks/\(id)", .PATCH, body: #"{"destination": "\#(destination)"}"#)
            #expect(reply.status == 400, "\(destination): \(reply.text)")
        }
        let kept = try await gateway.admin("/v1/webhooks/\(id)").json?["data"] as? [String: Any]
        #expect(kept?["destination"] as? String == "https://hooks.example.com/x")
        try await gateway.stop()

        await #expect(throws: ConfigError.self) {
            try await TestGateway.start(provider: provider) { config in
                config.webhooks.endpoints = [.init(destination: destinations[0], project: "default", sampleRate: 100, includeData: true, propertyFilters: [], key: nil)]
            }
        }
        #expect(receiver.requests.isEmpty)
        try await receiver.stop()
        try await provider.stop()
    }
}

import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import TollgateCore
import TollgateServer

/// The gateway exactly as `tollgate serve` builds it, on port 0 with its own temporary storage,
/// its providers pointed at fake servers.
final class TestGateway: Sendable {
    let server: RunningServer
    let adminKey: String
    let storagePath: String
    let config: GatewayConfig

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    private init(server: RunningServer, adminKey: String, storagePath: String, config: GatewayConfig) {
        self.server = server
        self.adminKey = adminKey
        self.storagePath = storagePath
        self.config = config
    }

    /// A fresh storage (SQLite under a new temporary folder, or a new schema when
    /// TOLLGATE_TEST_POSTGRES_URL names a PostgreSQL server), port 0, the prices built into the binary.
    static func testConfig(storagePath: String? = nil) -> GatewayConfig {
        var config = GatewayConfig()
        config.server.port = 0
        config.storage.path = storagePath ?? FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-test-\(UUID().uuidString)").path
        config.admin.key = "test-admin-key"
        if let url = ProcessInfo.processInfo.environment["TOLLGATE_TEST_POSTGRES_URL"] {
            // The same suite on PostgreSQL: one schema per gateway storage, so tests stay independent.
            let schema = "t_" + String(URL(fileURLWithPath: config.storage.path).lastPathComponent.lowercased().filter { $0.isLetter || $0.isNumber }.suffix(40))
            config.storage.kind = .postgres(.init(url: url, schema: schema))
        }
        return config
    }

    /// Starts a gateway whose `openai` and `anthropic` providers are `provider` (unless `configure` changes them).
    static func start(provider: FakeServer? = nil, storagePath: String? = nil, _ configure: (inout GatewayConfig) -> Void = { _ in }) async throws -> TestGateway {
        var config = testConfig(storagePath: storagePath)
        if let provider {
            config.routing.providers = config.routing.providers.map { route in
                var route = route
                route.origin = Origin(provider.baseURL)!
                return route
            }
        }
        configure(&config)
        let settings = config
        let server = try await RunningServer.start { onRunning in
            try await Gateway.buildApplication(config: settings, logger: RunningServer.quietLogger, onServerRunning: onRunning).0
        }
        return TestGateway(server: server, adminKey: settings.admin.key ?? "", storagePath: settings.storage.path, config: settings)
    }

    var baseURL: String { server.baseURL }

    func stop() async throws { try await server.stop() }

    struct Reply: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
    }

    /// Sends one request and reads the whole answer.
    func send(_ method: HTTPMethod = .POST, _ path: String, body: String? = nil, headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) { request.headers.add(name: "content-type", value: "application/json") }
        }
        let response = try await Self.client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Array(bytes.readableBytesView))
    }

    /// What a client read of a streamed answer: the text up to where it ended, and whether it
    /// ended cut short (an error) rather than cleanly.
    struct StreamRead: Sendable {
        var status: Int
        var received: String
        var cutShort: Bool
    }

    /// Posts `body` to the chat completions route with a fresh `Helicone-Request-Id`, reads the
    /// answer until it ends, and returns that id with what was read.
    func streamUntilEnd(_ path: String = "/v1/chat/completions", body: String) async throws -> (id: String, read: StreamRead) {
        let id = UUID().uuidString.lowercased()
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Helicone-Request-Id", value: id)
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await Self.client.execute(request, timeout: .seconds(20))
        var read = StreamRead(status: Int(response.status.code), received: "", cutShort: false)
        do {
            for try await chunk in response.body { read.received += String(buffer: chunk) }
        } catch {
            read.cutShort = true
        }
        return (id, read)
    }

    /// A call with an admin key (the global one unless another is given).
    func admin(_ path: String, _ method: HTTPMethod = .GET, body: String? = nil, key: String? = nil) async throws -> Reply {
        try await send(method, path, body: body, headers: [("Authorization", "Bearer \(key ?? adminKey)")])
    }

    /// Creates a webhook through the API and returns its `data` object (with `hmac_key`).
    func createWebhook(_ json: String, key: String? = nil) async throws -> [String: Any] {
        let reply = try await admin("/v1/webhooks", .POST, body: json, key: key)
        guard reply.status == 201, let data = reply.json?["data"] as? [String: Any] else {
            throw TestFailure("creating a webhook failed: \(reply.status) \(reply.text)")
        }
        return data
    }

    /// Waits until the record with `id` is written (the recorder runs after the response) and returns it.
    func record(_ id: String, timeout: Duration = .seconds(10)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let reply = try await admin("/v1/requests/\(id)")
            if reply.status == 200, let data = reply.json?["data"] as? [String: Any] { return data }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("record \(id) was not written within \(timeout)")
    }
}

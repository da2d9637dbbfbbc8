import Foundation
import Testing
import TollgateCore
@testable import TollgateServer

@Suite("Configuration")
struct ConfigTests {
    @Test("conf/tollgate.yaml documents exactly the built-in defaults")
    func documentedDefaultsAreTheDefaults() throws {
        let fromFile = try GatewayConfig.load(path: TestGateway.repositoryRoot + "/conf/tollgate.yaml", environment: [:])
        let builtIn = try GatewayConfig.load(path: nil, environment: [:])
        #expect(fromFile == builtIn)
        #expect(builtIn.port == 8787 && builtIn.host == "127.0.0.1" && builtIn.storagePath == "./tollgate-data")
        #expect(builtIn.providers.map(\.name) == ["anthropic", "openai"])
        #expect(builtIn.bodyURLTTLSeconds == 1800)
    }

    @Test("environment variables override file values, including new providers and lists")
    func environmentOverrides() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tg-\(UUID()).yaml").path
        try """
            server:
              port: 9000
            auth:
              gateway_keys:
                - key: gk-1
                  project: alpha
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try GatewayConfig.load(path: path, environment: [
            "TOLLGATE_SERVER_PORT": "9100",
            "TOLLGATE_PROVIDERS_GROQ_BASE_URL": "https://api.groq.com/openai",
            "TOLLGATE_ROUTING_ALLOWED_TARGET_URLS": "https://a.example, https://b.example:8443",
            "TOLLGATE_BODIES_URL_TTL_SECONDS": "60",
        ])
        #expect(config.port == 9100)
        #expect(config.gatewayKeys == [.init(key: "gk-1", project: "alpha")])
        let groq = try #require(config.providers.first { $0.name == "groq" })
        #expect(groq.origin.host == "api.groq.com" && groq.origin.basePath == "/openai" && groq.format == .openai)
        #expect(config.allowedTargetURLs == ["https://a.example", "https://b.example:8443"])
        #expect(config.bodyURLTTLSeconds == 60)
    }

    @Test("a bad value names the key to fix")
    func badValuesAreExplained() throws {
        #expect(throws: ConfigError.self) { try GatewayConfig.load(path: nil, environment: ["TOLLGATE_SERVER_PORT": "eighty"]) }
        do {
            _ = try GatewayConfig.load(path: nil, environment: ["TOLLGATE_PROVIDERS_OPENAI_FORMAT": "soap"])
            Issue.record("a bad format was accepted")
        } catch let error as ConfigError {
            #expect(error.description.contains("providers.openai.format"))
        }
    }

    @Test("without gateway keys the gateway refuses to listen beyond loopback")
    func noKeysMeansLoopbackOnly() async throws {
        var config = GatewayConfig()
        config.host = "0.0.0.0"
        config.storagePath = FileManager.default.temporaryDirectory.appendingPathComponent("tg-\(UUID())").path
        await #expect(throws: ConfigError.self) { _ = try await Gateway.buildApplication(config: config) }
    }
}

extension ConfigTests {
    @Test("an unreachable PostgreSQL fails the start with a message that names the setting")
    func unreachableDatabaseIsExplained() async throws {
        let closed = try await FakeServer.start { _, _ in FakeServer.json("{}") }
        let port = closed.server.port
        try await closed.stop()
        var config = GatewayConfig()
        config.storagePath = FileManager.default.temporaryDirectory.appendingPathComponent("tg-\(UUID())").path
        config.pricingPath = nil
        config.storageKind = "postgres"
        config.postgresURL = "postgres://tollgate@127.0.0.1:\(port)/tollgate"
        do {
            _ = try await Gateway.buildApplication(config: config)
            Issue.record("the gateway started without its database")
        } catch let error as ConfigError {
            #expect(error.description.contains("storage.postgres.url"))
            #expect(error.description.contains("127.0.0.1:\(port)"))
        }
    }
}

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
        #expect(GatewayConfig() == builtIn)
        #expect(builtIn.server.port == 8787 && builtIn.server.host == "127.0.0.1" && builtIn.storage.path == "./tollgate-data")
        #expect(builtIn.storage.kind == .sqlite && builtIn.bodies.kind == .database)
        #expect(builtIn.routing.providers.map(\.name) == ["anthropic", "openai"])
        #expect(builtIn.bodies.urlTTL == .seconds(1800))
        #expect(builtIn.server.headerTimeout == .seconds(10) && builtIn.webhooks.disableAfter == .seconds(120 * 3600))
        #expect(builtIn.retention.recordsMaxAge == nil && builtIn.retention.interval == .seconds(600))
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
        #expect(config.server.port == 9100)
        #expect(config.auth.gatewayKeys == [.init(key: "gk-1", project: "alpha")])
        let groq = try #require(config.routing.providers.first { $0.name == "groq" })
        #expect(groq.origin.host == "api.groq.com" && groq.origin.basePath == "/openai" && groq.format == .openai)
        #expect(config.routing.allowedTargetURLs == ["https://a.example", "https://b.example:8443"])
        #expect(config.bodies.urlTTL == .seconds(60))
    }

    @Test("a gateway key's rate limits are read from its map, and a malformed one names the key's project and the policy's form")
    func gatewayKeyRateLimits() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tg-\(UUID()).yaml").path
        try """
            auth:
              gateway_keys:
                - key: gk-1
                  project: alpha
                  rate_limits: "1000;w=3600;s=user, 500;w=86400;u=cents"
                - key: gk-2
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try GatewayConfig.load(path: path, environment: [:])
        #expect(config.auth.rateLimits["gk-1"] == [
            RateLimitPolicy(quota: 1000, windowSeconds: 3600, segment: .user), RateLimitPolicy(quota: 500, windowSeconds: 86400, unit: .cents),
        ])
        #expect(config.auth.rateLimits["gk-2"] == nil)

        // A list that mixes the two forms would turn the maps into nonsense keys: refused.
        try """
            auth:
              gateway_keys:
                - key: gk-1
                  project: alpha
                - gk-2
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let mixed = #expect(throws: ConfigError.self) { try GatewayConfig.load(path: path, environment: [:]) }
        #expect(mixed?.description == "auth.gateway_keys in \(path) mixes plain entries and maps: write every entry as a map")

        try """
            auth:
              gateway_keys:
                - key: gk-1
                  project: alpha
                  rate_limits: "1000;w=10"
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: ConfigError.self) { try GatewayConfig.load(path: path, environment: [:]) }
        #expect(error?.description == "auth.gateway_keys: rate_limits of project alpha's key: Helicone-RateLimit-Policy has a window that is not 60 to 31536000 seconds: expected Q;w=W[;u=request|cents][;s=user|<property>], with Q > 0 and W from 60 to 31536000 seconds, got '1000;w=10'")
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
        config.server.host = "0.0.0.0"
        config.storage.path = FileManager.default.temporaryDirectory.appendingPathComponent("tg-\(UUID())").path
        await #expect(throws: ConfigError.self) { _ = try await Gateway.buildApplication(config: config) }
    }
}

extension ConfigTests {
    @Test("an unreachable PostgreSQL fails the start with a message that names the setting")
    func unreachableDatabaseIsExplained() async throws {
        let closed = try ClosedPort()
        let port = closed.port
        var config = GatewayConfig()
        config.storage.path = FileManager.default.temporaryDirectory.appendingPathComponent("tg-\(UUID())").path
        config.pricing.path = nil
        config.storage.kind = .postgres(.init(url: "postgres://tollgate@127.0.0.1:\(port)/tollgate"))
        do {
            _ = try await Gateway.buildApplication(config: config)
            Issue.record("the gateway started without its database")
        } catch let error as ConfigError {
            #expect(error.description.contains("storage.postgres.url"))
            #expect(error.description.contains("127.0.0.1:\(port)"))
        }
        withExtendedLifetime(closed) {}
    }
}

/// The keys each section declares are the ones the README documents, the ones the example files
/// use, and the ones the reader reads.
@Suite("Configuration keys")
struct ConfigKeyTests {
    static let readme = TestGateway.repositoryRoot + "/README.md"
    static let tableStart = "<!-- config-keys: generated from GatewayConfig.keys; ConfigKeyTests checks it (TOLLGATE_UPDATE_README=1 rewrites it) -->"
    static let tableEnd = "<!-- end config-keys -->"

    @Test("the README's configuration table lists exactly the declared keys, variables, defaults and meanings")
    func readmeTableIsTheDeclaredKeys() throws {
        let text = try String(contentsOfFile: Self.readme, encoding: .utf8)
        let start = try #require(text.range(of: Self.tableStart + "\n"), "README.md lacks the marker \(Self.tableStart)")
        let end = try #require(text.range(of: Self.tableEnd, range: start.upperBound..<text.endIndex), "README.md lacks \(Self.tableEnd)")
        let documented = String(text[start.upperBound..<end.lowerBound])
        let declared = ConfigKey.markdownTable(GatewayConfig.keys)
        if documented != declared, ProcessInfo.processInfo.environment["TOLLGATE_UPDATE_README"] == "1" {
            try text.replacingCharacters(in: start.upperBound..<end.lowerBound, with: declared).write(toFile: Self.readme, atomically: true, encoding: .utf8)
            return
        }
        let documentedRows = Set(documented.split(separator: "\n").map(String.init))
        let declaredRows = Set(declared.split(separator: "\n").map(String.init))
        #expect(documentedRows.subtracting(declaredRows).sorted() == [], "rows in README.md that no section declares")
        #expect(declaredRows.subtracting(documentedRows).sorted() == [], "declared keys missing from README.md (TOLLGATE_UPDATE_README=1 swift test --filter ConfigKeyTests rewrites the table)")
        #expect(documented == declared, "README.md's table is out of order")
    }

    @Test("every key is declared once, and its environment variable follows the TOLLGATE_ rule")
    func keysAreUnique() {
        let names = GatewayConfig.keys.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(GatewayConfig.keys.first { $0.name == "server.port" }?.environmentVariable == "TOLLGATE_SERVER_PORT")
        #expect(GatewayConfig.keys.first { $0.name == "pricing.overrides" }?.environmentVariable == nil)
    }

    @Test("conf/tollgate.yaml mentions every declared key")
    func exampleFileMentionsEveryKey() throws {
        let text = try String(contentsOfFile: TestGateway.repositoryRoot + "/conf/tollgate.yaml", encoding: .utf8)
        let used = try ConfigValues(yaml: text, source: "conf/tollgate.yaml").keys
        for key in GatewayConfig.keys {
            #expect(used.contains { key.matches($0) }, "conf/tollgate.yaml does not mention \(key.name)")
        }
    }

    @Test("every file in conf/ loads and uses only declared keys", arguments: try FileManager.default.contentsOfDirectory(atPath: TestGateway.repositoryRoot + "/conf").filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") })
    func everyExampleLoads(file: String) throws {
        let path = TestGateway.repositoryRoot + "/conf/" + file
        _ = try GatewayConfig.load(path: path, environment: [:])
        let used = try ConfigValues(yaml: String(contentsOfFile: path, encoding: .utf8), source: path).keys
        let unknown = used.filter { key in !GatewayConfig.keys.contains { $0.matches(key) } }
        #expect(unknown == [], "\(file) sets keys that no section reads")
    }

    @Test("the usual AWS variables stand in for the S3 settings, and TOLLGATE_ ones win")
    func awsVariablesAreFallbacks() throws {
        let environment = [
            "TOLLGATE_BODIES_KIND": "s3", "TOLLGATE_BODIES_S3_ENDPOINT": "http://127.0.0.1:9000", "TOLLGATE_BODIES_S3_BUCKET": "b",
            "AWS_ACCESS_KEY_ID": "aws-id", "AWS_SECRET_ACCESS_KEY": "aws-secret", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-west-2",
            "TOLLGATE_BODIES_S3_SECRET_ACCESS_KEY": "tollgate-secret",
        ]
        let config = try GatewayConfig.load(path: nil, environment: environment)
        guard case .s3(let s3) = config.bodies.kind else { Issue.record("bodies.kind is not s3"); return }
        #expect(s3.credentials == AWSCredentials(accessKeyID: "aws-id", secretAccessKey: "tollgate-secret"))
        #expect(s3.region == "eu-west-1" && s3.endpoint.port == 9000 && s3.bucket == "b" && s3.pathStyle)
    }

    @Test("seconds, hours and days become durations; fractions are kept")
    func durations() throws {
        let config = try GatewayConfig.load(path: nil, environment: [
            "TOLLGATE_WEBHOOKS_RETRY_SCHEDULE_SECONDS": "0.5, 2", "TOLLGATE_WEBHOOKS_DISABLE_AFTER_HOURS": "0.5",
            "TOLLGATE_RETENTION_RECORDS_DAYS": "1.5", "TOLLGATE_UPSTREAM_STALL_TIMEOUT_SECONDS": "2.25",
        ])
        #expect(config.webhooks.retrySchedule == [.milliseconds(500), .seconds(2)])
        #expect(config.webhooks.disableAfter == .seconds(1800))
        #expect(config.retention.recordsMaxAge == .seconds(1.5 * 86_400) && config.retention.deliveryLogsMaxAge == nil)
        #expect(config.upstream.stallTimeout == .milliseconds(2250))
    }

    @Test("a bad value is refused with the message operators and scripts know", arguments: [
        (["TOLLGATE_STORAGE_KIND": "mysql"], "storage.kind must be sqlite or postgres, got 'mysql'"),
        (["TOLLGATE_STORAGE_KIND": "postgres"], "storage.kind is postgres but storage.postgres.url is not set"),
        (["TOLLGATE_BODIES_KIND": "disk"], "bodies.kind must be database or s3, got 'disk'"),
        (["TOLLGATE_BODIES_KIND": "s3"], "bodies.kind is s3: bodies.s3.endpoint must be an http(s) URL, e.g. https://s3.us-east-1.amazonaws.com"),
        (["TOLLGATE_SERVER_MAX_HEADER_BYTES": "100000"], "server.max_header_bytes must be 1024...61440 (a forwarded head must fit the upstream connection's 64 KiB write buffer), got 100000"),
        (["TOLLGATE_SERVER_PORT": "70000"], "server.port must be 0...65535, got 70000"),
        (["TOLLGATE_SERVER_IDLE_TIMEOUT_SECONDS": "0"], "server.header_timeout_seconds and idle_timeout_seconds must be positive"),
        (["TOLLGATE_METRICS_REQUIRE_ADMIN_KEY": "maybe"], "metrics.require_admin_key must be true or false, got 'maybe'"),
        (["TOLLGATE_BODIES_URL_TTL_SECONDS": "1.5"], "bodies.url_ttl_seconds must be an integer, got '1.5'"),
        (["TOLLGATE_RETENTION_RECORDS_DAYS": "-1"], "retention.records_days and delivery_logs_days must be 0 or more, interval_seconds positive"),
        (["TOLLGATE_WEBHOOKS_RETRY_SCHEDULE_SECONDS": "5,soon"], "webhooks.retry_schedule_seconds must be a list of seconds, got 'soon'"),
        (["TOLLGATE_WEBHOOKS_MAX_CONCURRENCY": "0"], "webhooks.timeout_seconds, max_concurrency and max_per_destination must be positive"),
        (["TOLLGATE_ROUTING_DEFAULT_PROVIDER": "groq"], "routing.default_provider 'groq' is not a configured provider"),
        (["TOLLGATE_STORAGE_POSTGRES_TIMEOUT_SECONDS": "ten"], "storage.postgres.timeout_seconds must be a number, got 'ten'"),
    ])
    func badValueMessages(environment: [String: String], message: String) {
        do {
            _ = try GatewayConfig.load(path: nil, environment: environment)
            Issue.record("\(environment) was accepted")
        } catch {
            #expect("\(error)" == message)
        }
    }
}

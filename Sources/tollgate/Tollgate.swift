import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import TollgateServer

@main
struct Tollgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A self-hosted LLM gateway: forwards OpenAI and Anthropic calls, records tokens, cost and latency.",
        discussion: """
            Point your SDK's base URL at the gateway (http://127.0.0.1:8787/openai/v1 or \
            http://127.0.0.1:8787/anthropic) and keep calling as before. See README.md.
            """,
        subcommands: [Serve.self, Webhooks.self, Pricing.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway.",
        discussion: """
            With no --config the gateway runs on the built-in defaults (the values in \
            conf/tollgate.yaml): 127.0.0.1:8787, SQLite and bodies under ./tollgate-data/, \
            providers openai and anthropic. Any key can be set by an environment variable: \
            server.port is TOLLGATE_SERVER_PORT, providers.groq.base_url is \
            TOLLGATE_PROVIDERS_GROQ_BASE_URL; lists are comma-separated.
            """
    )

    @Option(name: .shortAndLong, help: "Path of a YAML config file (see conf/tollgate.yaml).")
    var config: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        LoggingSystem.bootstrap { ConsoleLogHandler(label: $0) }
        var logger = Logger(label: "tollgate")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        do {
            let settings = try GatewayConfig.load(path: config)
            let announce = logger
            let (app, setup) = try await Gateway.buildApplication(config: settings, logger: logger) { channel in
                let address = channel.localAddress.map { "\($0.ipAddress ?? settings.server.host):\($0.port ?? settings.server.port)" } ?? "\(settings.server.host):\(settings.server.port)"
                announce.notice("tollgate listening on http://\(address)")
                say("tollgate listening on http://\(address)")
            }
            if setup.generatedAdminKey {
                say("Generated admin key (stored under \(settings.storage.path)/admin.key, shown once): \(setup.adminKey)")
            }
            for (destination, key) in setup.generatedWebhookKeys {
                say("Generated signing key for webhook \(destination) (shown once): \(key)")
            }
            try await app.runService()
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("tollgate: \(error.description)\n".utf8))
            throw ExitCode(2)
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            let address = (try? GatewayConfig.load(path: config)).map { "\($0.server.host):\($0.server.port)" } ?? "the configured address"
            FileHandle.standardError.write(Data("tollgate: cannot listen on \(address): the port is in use (another tollgate, or set server.port)\n".utf8))
            throw ExitCode(1)
        } catch let error as IOError {
            FileHandle.standardError.write(Data("tollgate: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// Writes a line to stdout unbuffered, so scripts waiting on it see it at once.
    func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TollgateCore

/// A refusal or failure reported by the gateway: printed as is, without the usage text.
struct GatewayAnswer: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// `tollgate webhooks …`: manage a running gateway's webhooks through its API.
struct Webhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage webhooks of a running gateway (through its management API).",
        discussion: """
            The gateway is --gateway (default $TOLLGATE_URL or http://127.0.0.1:8787); the admin key is \
            --admin-key, else $TOLLGATE_ADMIN_KEY, else ./tollgate-data/admin.key.
            """,
        subcommands: [Add.self, List.self, Remove.self, Test.self]
    )

    struct Connection: ParsableArguments {
        @Option(help: "Base URL of the gateway.")
        var gateway: String = ProcessInfo.processInfo.environment["TOLLGATE_URL"] ?? "http://127.0.0.1:8787"

        @Option(name: .customLong("admin-key"), help: "Admin key (global or a project's).")
        var adminKey: String?

        func key() throws -> String {
            if let adminKey { return adminKey }
            if let env = ProcessInfo.processInfo.environment["TOLLGATE_ADMIN_KEY"], !env.isEmpty { return env }
            if let stored = try? String(contentsOfFile: "tollgate-data/admin.key", encoding: .utf8) {
                return stored.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            throw ValidationError("no admin key: pass --admin-key or set TOLLGATE_ADMIN_KEY")
        }

        /// Calls the API and returns the envelope's `data`, or throws with its `error`.
        func call(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil) async throws -> JSONValue {
            var request = HTTPClientRequest(url: gateway.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + path)
            request.method = method
            request.headers.add(name: "authorization", value: "Bearer \(try key())")
            if let body {
                request.headers.add(name: "content-type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body.serialized()))
            }
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { _ = client.shutdown() }
            let response = try await client.execute(request, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: 16 << 20)
            let envelope = try? JSONParser.parse(bytes.readableBytesView)
            if let error = envelope?["error"]?.stringValue {
                throw GatewayAnswer(message: "gateway answered \(response.status.code): \(error)")
            }
            guard (200..<300).contains(response.status.code), let data = envelope?["data"] else {
                throw GatewayAnswer(message: "gateway answered \(response.status.code): \(String(buffer: bytes))")
            }
            return data
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a webhook; prints it with its signing key (shown once).")

        @OptionGroup var connection: Connection
        @Argument(help: "Destination URL (https, or http for a host in webhooks.allowed_private_hosts).")
        var destination: String
        @Option(name: .customLong("sample-rate"), help: "Percent of matching calls to deliver, 0-100.")
        var sampleRate: Double = 100
        @Option(name: .customLong("filter"), help: "Property filter name=value; repeat for more (all must hold).")
        var filters: [String] = []
        @Flag(name: .customLong("no-data"), help: "Leave out request_response_url, model, provider and metadata.")
        var noData = false
        @Option(help: "Project (only with the global admin key).")
        var project: String?

        func run() async throws {
            var filterObject: [(String, JSONValue)] = []
            for filter in filters {
                let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw ValidationError("--filter takes name=value, got '\(filter)'") }
                filterObject.append((parts[0], .string(parts[1])))
            }
            var body: [(String, JSONValue)] = [
                ("destination", .string(destination)),
                ("config", .object([("sampleRate", .number(sampleRate)), ("propertyFilters", .object(filterObject))])),
                ("includeData", .bool(!noData)),
            ]
            if let project { body.append(("project", .string(project))) }
            print(try await connection.call(.POST, "/v1/webhooks", body: .object(body)).serializedString())
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List webhooks: id, enabled, destination, filters.")
        @OptionGroup var connection: Connection

        func run() async throws {
            for webhook in try await connection.call(.GET, "/v1/webhooks").arrayValue ?? [] {
                let filters = (webhook["config"]?["propertyFilters"]?.arrayValue ?? []).compactMap { f in
                    f["key"]?.stringValue.map { "\($0)=\(f["value"]?.stringValue ?? "")" }
                }
                let state = webhook["enabled"]?.boolValue == true ? "enabled" : "disabled(\(webhook["disabled_reason"]?.stringValue ?? "by user"))"
                print([webhook["id"]?.stringValue ?? "", state, webhook["destination"]?.stringValue ?? "",
                       "sample=\(webhook["config"]?["sampleRate"]?.doubleValue ?? 100)", filters.joined(separator: ",")].joined(separator: "\t"))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a webhook and its delivery log.")
        @OptionGroup var connection: Connection
        @Argument var id: String

        func run() async throws {
            _ = try await connection.call(.DELETE, "/v1/webhooks/\(id)")
            print("deleted \(id)")
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a signed sample delivery and print its attempt log.")
        @OptionGroup var connection: Connection
        @Argument var id: String

        func run() async throws {
            let queued = try await connection.call(.POST, "/v1/webhooks/\(id)/test")
            guard let delivery = queued["delivery_id"]?.stringValue else { throw ValidationError("unexpected answer: \(queued.serializedString())") }
            for _ in 0..<50 {
                let state = try await connection.call(.GET, "/v1/webhooks/\(id)/deliveries/\(delivery)")
                if (state["attempts"]?.intValue ?? 0) > 0 {
                    print(state.serializedString())
                    if state["status"]?.stringValue != "succeeded" { throw ExitCode(1) }
                    return
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            throw ValidationError("delivery \(delivery) queued but not attempted within 10 s")
        }
    }
}

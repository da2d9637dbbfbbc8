import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Forwards each request to the upstream and streams the answer back: the same Hummingbird
/// server and AsyncHTTPClient configuration as Tollgate's hot path, and nothing else.
/// Usage: PassThrough UPSTREAM_PORT; prints "listening on PORT".
struct Forward: HTTPResponder {
    let client: HTTPClient
    let upstream: String

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: 32 << 20)
        var outgoing = HTTPClientRequest(url: upstream + request.uri.path)
        outgoing.method = .init(rawValue: request.method.rawValue)
        for field in request.headers where field.name.canonicalName != "host" && field.name != .connection {
            outgoing.headers.add(name: field.name.rawName, value: field.value)
        }
        outgoing.body = .bytes(body)
        let response = try await client.execute(outgoing, deadline: .distantFuture)
        var headers = HTTPFields()
        for (name, value) in response.headers where name.lowercased() != "connection" && name.lowercased() != "transfer-encoding" {
            if let fieldName = HTTPField.Name(name) { headers.append(HTTPField(name: fieldName, value: value)) }
        }
        let length = response.headers.first(name: "content-length").flatMap(Int.init)
        return Response(status: .init(code: Int(response.status.code)), headers: headers, body: ResponseBody(contentLength: length) { writer in
            for try await chunk in response.body { try await writer.write(chunk) }
            try await writer.finish(nil)
        })
    }
}

let upstreamPort = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 8080
var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, decompression: .disabled)
configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 512
configuration.tracing.tracer = nil
let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
var logger = Logger(label: "passthrough")
logger.logLevel = .warning
let app = Application(
    responder: Forward(client: client, upstream: "http://127.0.0.1:\(upstreamPort)"),
    configuration: .init(address: .hostname("127.0.0.1", port: 0)),
    onServerRunning: { channel in FileHandle.standardOutput.write(Data("listening on \(channel.localAddress?.port ?? 0)\n".utf8)) },
    logger: logger
)
try await app.runService()

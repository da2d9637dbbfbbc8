import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// A stand-in for a provider (OpenAI, Anthropic) or a webhook receiver: a real HTTP server on
/// 127.0.0.1:0 that answers with
/// whatever the test's handler returns and remembers every request it received.
final class FakeServer: Sendable {
    struct Received: Sendable {
        var method: String
        var path: String
        var headers: HTTPFields
        var body: [UInt8]

        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
    }

    typealias Handler = @Sendable (Request, [UInt8]) async throws -> Response

    let received = Mutex<[Received]>([])
    let server: RunningServer

    private init(server: RunningServer) {
        self.server = server
    }

    var baseURL: String { server.baseURL }
    var requests: [Received] { received.withLock { $0 } }

    /// Starts a provider whose every answer comes from `handler` (the request body already read).
    static func start(readBody: Bool = true, _ handler: @escaping Handler) async throws -> FakeServer {
        let box = Mutex<FakeServer?>(nil)
        let server = try await RunningServer.start { onRunning in
            let router = Router()
            router.on("**", method: .post) { request, _ in try await respond(request) }
            router.on("**", method: .get) { request, _ in try await respond(request) }
            router.on("**", method: .put) { request, _ in try await respond(request) }
            router.on("**", method: .head) { request, _ in try await respond(request) }
            @Sendable func respond(_ request: Request) async throws -> Response {
                var request = request
                let body = readBody ? Array(try await request.collectBody(upTo: 64 << 20).readableBytesView) : []
                box.withLock { $0 }?.received.withLock {
                    $0.append(Received(method: request.method.rawValue, path: request.uri.description, headers: request.headers, body: body))
                }
                return try await handler(request, body)
            }
            return Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: onRunning, logger: RunningServer.quietLogger
            )
        }
        let provider = FakeServer(server: server)
        box.withLock { $0 = provider }
        return provider
    }

    func stop() async throws { try await server.stop() }

    /// Waits until at least `count` requests have arrived and returns them.
    func waitForRequests(_ count: Int, timeout: Duration = .seconds(10)) async throws -> [Received] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let seen = requests
            if seen.count >= count { return seen }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("\(count) requests did not arrive within \(timeout); got \(requests.count)")
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// An SSE response that writes `events` (each already framed, e.g. "data: {...}\n\n"),
    /// waiting `gap` between them and, when given, for `hold` before all but the first.
    static func sse(_ events: [String], gap: Duration = .zero, hold: Gate? = nil) -> Response {
        Response(status: .ok, headers: [.contentType: "text/event-stream"], body: .init { writer in
            for (index, event) in events.enumerated() {
                if index == 1, let hold { await hold.wait() }
                if index > 0, gap > .zero { try await Task.sleep(for: gap) }
                try await writer.write(ByteBuffer(string: event))
            }
            try await writer.finish(nil)
        })
    }
}

import NIOCore
import NIOHTTP1

/// Answers each request in the HTTP version it came in. Hummingbird's HTTP types carry no
/// version, so every answer would leave as HTTP/1.1, chunked when its length is unknown, on a
/// connection kept open: an HTTP/1.0 client can read neither. For an HTTP/1.0 request the answer
/// goes out as HTTP/1.0 with `Connection: close`, its body unchunked (NIO's encoder then frames it
/// by the close), and the connection is closed once the answer is written.
///
/// It sits between NIO's HTTP/1 parser and Hummingbird's codec, and tells
/// ``ConnectionDeadlines`` when a head arrives and an answer ends.
final class HTTP10Responses: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let deadlines: ConnectionDeadlines
    /// The versions of requests whose answers have not ended, oldest first.
    private var versions: [HTTPVersion] = []

    init(deadlines: ConnectionDeadlines) {
        self.deadlines = deadlines
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            versions.append(head.version)
            deadlines.headArrived()
        }
        context.fireChannelRead(data)
    }

    private var answeringHTTP10: Bool {
        guard let version = versions.first else { return false }
        return version.major == 1 && version.minor == 0
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where answeringHTTP10:
            head.version = .http1_0
            head.headers.remove(name: "transfer-encoding")
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where answeringHTTP10:
            versions.removeFirst()
            deadlines.answerEnded()
            let written = promise ?? context.eventLoop.makePromise()
            context.write(data, promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        case .end:
            if !versions.isEmpty { versions.removeFirst() }
            deadlines.answerEnded()
            context.write(data, promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }
}

import NIOCore
import NIOHTTP1
import NIOSSL
import NIOTLS

/// What an ``UpstreamConnection`` tells the call it is serving, on the connection's event loop.
/// After ``upstreamEnd()`` or ``upstreamFailed(_:)`` nothing more is said.
protocol UpstreamCallDelegate: AnyObject {
    func upstreamHead(_ head: HTTPResponseHead)
    func upstreamBody(_ buffer: ByteBuffer)
    func upstreamEnd()
    func upstreamFailed(_ error: UpstreamError)
}

/// Why an upstream call ended without an answer's end.
enum UpstreamError: Error {
    /// Connecting (TCP and TLS) took longer than `upstream.connect_timeout_seconds`.
    case connectTimeout
    /// The connection could not be opened.
    case connect(any Error)
    /// Nothing arrived for longer than `upstream.stall_timeout_seconds`.
    case stalled
    /// The upstream closed the connection.
    case closed
    /// The connection failed (reset, TLS error, malformed answer).
    case io(any Error)
    /// Too many calls already wait for a connection to this origin.
    case busy
}

/// One keep-alive HTTP/1.1 connection to an upstream origin, living on one event loop: the last
/// handler of its channel. It serves one call at a time (``send(_:body:to:)``), passes the answer's
/// parts on as they are decoded, and stops reading while the call asks it to (back-pressure from
/// a slow client).
final class UpstreamConnection: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    let stallTimeout: TimeAmount
    private(set) var context: ChannelHandlerContext?
    /// The call being served.
    private var delegate: (any UpstreamCallDelegate)?
    /// Calls served before the current one; a reused connection may have been closed by the
    /// upstream just as the call was sent.
    private(set) var callsServed = 0
    /// Whether any byte of the current call's answer has arrived.
    private(set) var answerStarted = false
    private var requestWritten = false
    private var keepAlive = true
    private(set) var isClosed = false
    private var paused = false
    private var readPending = false
    private var stallTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    /// Completed once the connection can carry a request (after the TLS handshake on https).
    let ready: EventLoopPromise<Void>
    private var readyCompleted = false
    private let waitsForHandshake: Bool
    /// Called once when the channel closes.
    var onClose: (() -> Void)?

    init(stallTimeout: TimeAmount, eventLoop: any EventLoop, waitsForHandshake: Bool) {
        self.stallTimeout = stallTimeout
        self.waitsForHandshake = waitsForHandshake
        ready = eventLoop.makePromise()
    }

    /// True when a new call may be sent: open, idle, and its last answer ended cleanly with keep-alive.
    var isReusable: Bool {
        !isClosed && delegate == nil && keepAlive && requestWritten && context?.channel.isActive == true
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive, !waitsForHandshake { completeReady(nil) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if !waitsForHandshake { completeReady(nil) }
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { completeReady(nil) }
        context.fireUserInboundEventTriggered(event)
    }

    /// Sends a request; the answer goes to `delegate`.
    func send(_ head: HTTPRequestHead, body: ByteBuffer?, to delegate: any UpstreamCallDelegate) {
        guard let context, !isClosed else {
            delegate.upstreamFailed(.closed)
            return
        }
        idleTimer?.cancel()
        idleTimer = nil
        self.delegate = delegate
        answerStarted = false
        requestWritten = false
        keepAlive = true
        callsServed += 1
        armStall()
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body, body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        written.futureResult.assumeIsolated().whenComplete { [weak self] result in
            guard let self else { return }
            switch result {
            case .success: self.requestWritten = true
            case .failure(let error): self.fail(.io(error))
            }
        }
    }

    /// Stops reading the answer until ``resume()`` (the client cannot take more yet).
    func pause() { paused = true }

    func resume() {
        guard paused else { return }
        paused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    /// Leaves the current call and closes the connection at once (the client went away).
    func abandon() {
        delegate = nil
        close()
    }

    func close() {
        guard !isClosed, let context else { return }
        context.close(promise: nil)
    }

    /// Closes the connection if it stays unused for `timeout`.
    func idle(for timeout: TimeAmount) {
        guard let context else { return }
        idleTimer?.cancel()
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in self?.close() }
    }

    private func completeReady(_ error: (any Error)?) {
        guard !readyCompleted else { return }
        readyCompleted = true
        if let error { ready.fail(error) } else { ready.succeed() }
    }

    private func armStall() {
        stallTimer?.cancel()
        guard let context else { return }
        stallTimer = context.eventLoop.assumeIsolated().scheduleTask(in: stallTimeout) { [weak self] in
            guard let self, self.delegate != nil else { return }
            self.fail(.stalled)
        }
    }

    private func fail(_ error: UpstreamError) {
        stallTimer?.cancel()
        keepAlive = false
        guard let delegate else { return }
        self.delegate = nil
        close()
        delegate.upstreamFailed(error)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        guard let delegate else {
            // An answer nobody asked for: the connection is not in a state to reuse.
            keepAlive = false
            close()
            return
        }
        switch part {
        case .head(let head):
            // 1xx heads (100 Continue) come before the answer and are not passed on.
            if head.status.code < 200 { return }
            answerStarted = true
            keepAlive = head.isKeepAlive
            armStall()
            delegate.upstreamHead(head)
        case .body(let buffer):
            answerStarted = true
            armStall()
            delegate.upstreamBody(buffer)
        case .end:
            stallTimer?.cancel()
            stallTimer = nil
            self.delegate = nil
            paused = false
            if readPending {
                readPending = false
                context.read()
            }
            delegate.upstreamEnd()
        }
    }

    func read(context: ChannelHandlerContext) {
        if paused {
            readPending = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        completeReady(error)
        fail(.io(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        markClosed()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        markClosed()
        self.context = nil
    }

    private func markClosed() {
        guard !isClosed else { return }
        isClosed = true
        keepAlive = false
        completeReady(UpstreamError.closed)
        stallTimer?.cancel()
        idleTimer?.cancel()
        if let delegate {
            self.delegate = nil
            delegate.upstreamFailed(.closed)
        }
        let onClose = self.onClose
        self.onClose = nil
        onClose?()
    }
}

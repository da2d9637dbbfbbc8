import NIOCore

/// The two clocks of a client connection, so that no connection holds a slot for long without
/// doing anything: a request head must arrive within `headerTimeout` of its first byte (a client
/// dribbling headers is cut), and a connection with no request in progress is closed after
/// `idleTimeout`. Bodies and answers have no deadline here: those are the upstream timeouts'.
///
/// Two handlers feed it, on the connection's event loop: ``bytesWatcher`` first in the pipeline
/// (it sees a head begin before the parser has a whole one) and ``HTTP10Responses`` after the
/// HTTP parser (it sees heads arrive and answers end).
final class ConnectionDeadlines {
    let headerTimeout: TimeAmount
    let idleTimeout: TimeAmount
    private(set) var bytesWatcher: BytesWatcher!
    private var context: ChannelHandlerContext?
    /// Requests whose head has arrived and whose answer has not ended (more than one when pipelined).
    private var inFlight = 0
    private var waitingForHead = false
    private var timer: Scheduled<Void>?

    init(headerTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        bytesWatcher = BytesWatcher(deadlines: self)
    }

    private func arm(_ timeout: TimeAmount) {
        timer?.cancel()
        guard let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            self?.context?.close(promise: nil)
        }
    }

    fileprivate func attached(_ context: ChannelHandlerContext) {
        self.context = context
        if inFlight == 0 { arm(idleTimeout) }
    }

    fileprivate func detached() {
        timer?.cancel()
        timer = nil
        context = nil
    }

    fileprivate func bytesArrived() {
        guard inFlight == 0, !waitingForHead else { return }
        waitingForHead = true
        arm(headerTimeout)
    }

    func headArrived() {
        inFlight += 1
        waitingForHead = false
        timer?.cancel()
        timer = nil
    }

    func answerEnded() {
        inFlight = max(0, inFlight - 1)
        if inFlight == 0 { arm(idleTimeout) }
    }

    /// Watches raw bytes go by, first in the pipeline; changes nothing.
    final class BytesWatcher: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        private unowned let deadlines: ConnectionDeadlines

        init(deadlines: ConnectionDeadlines) {
            self.deadlines = deadlines
        }

        func handlerAdded(context: ChannelHandlerContext) {
            if context.channel.isActive { deadlines.attached(context) }
        }

        func channelActive(context: ChannelHandlerContext) {
            deadlines.attached(context)
            context.fireChannelActive()
        }

        func channelInactive(context: ChannelHandlerContext) {
            deadlines.detached()
            context.fireChannelInactive()
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            deadlines.detached()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            deadlines.bytesArrived()
            context.fireChannelRead(data)
        }
    }
}

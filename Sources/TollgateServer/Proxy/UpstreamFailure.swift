import NIOCore
import NIOPosix
import TollgateCore

/// Maps an upstream connection's error to what the caller gets (502 or 504) and what is recorded.
enum UpstreamFailure {
    /// When the error came: before the response head (nothing sent to the client yet), or while
    /// the answer streamed, after `bytes` of it.
    enum Phase {
        case beforeAnswer
        case duringAnswer(bytes: Int)
    }

    static func classify(_ error: any Error, host: String, phase: Phase) -> (status: Int, failure: Failure) {
        if let error = error as? UpstreamError {
            switch error {
            case .stalled:
                return (504, Failure(.upstreamTimeout, "\(host) sent nothing for longer than upstream.stall_timeout_seconds"))
            case .connectTimeout:
                return (504, Failure(.upstreamTimeout, "connecting to \(host) took longer than upstream.connect_timeout_seconds"))
            case .closed:
                return (502, Failure(.upstreamFailed, "\(host) closed the connection \(phase.when)"))
            case .busy:
                return (503, Failure(.upstreamUnreachable, "too many calls wait for a connection to \(host) (upstream.max_connections_per_host)"))
            case .connect(let cause):
                if case ChannelError.connectTimeout = cause {
                    return (504, Failure(.upstreamTimeout, "connecting to \(host) took longer than upstream.connect_timeout_seconds"))
                }
                return (502, Failure(.upstreamUnreachable, "cannot connect to \(host): \(cause)"))
            case .io(let cause):
                return classify(cause, host: host, phase: phase)
            }
        }
        if error is CancellationError {
            return (499, Failure(.clientCancelled, "client went away before \(host) answered"))
        }
        // Only a failure to open the connection makes the provider unreachable; a connection that
        // was open and then reset (ECONNRESET, EPIPE) failed mid-call.
        if error is NIOConnectionError || (error as? ChannelError) == .connectTimeout(.zero) {
            return (502, Failure(.upstreamUnreachable, "cannot connect to \(host): \(error)"))
        }
        if let error = error as? IOError {
            if case .beforeAnswer = phase, [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH].contains(error.errnoCode) {
                return (502, Failure(.upstreamUnreachable, "cannot connect to \(host): \(error)"))
            }
            return (502, Failure(.upstreamFailed, "\(host) reset the connection \(phase.when): \(error)"))
        }
        return (502, Failure(.upstreamFailed, "\(host) \(phase.when): \(error)"))
    }
}

extension UpstreamFailure.Phase {
    var when: String {
        switch self {
        case .beforeAnswer: "before answering"
        case .duringAnswer(let bytes): "after \(bytes) bytes of the answer"
        }
    }
}

extension Failure: Error {}

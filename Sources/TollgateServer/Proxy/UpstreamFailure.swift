import AsyncHTTPClient
import NIOCore
import NIOPosix
import TollgateCore

/// Maps an upstream client error to what the caller gets (502 or 504) and what is recorded.
enum UpstreamFailure {
    static func classify(_ error: any Error, host: String) -> (status: Int, failure: Failure) {
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout, .deadlineExceeded:
                return (504, Failure(.upstreamTimeout, "\(host) sent nothing for longer than upstream.stall_timeout_seconds"))
            case .connectTimeout:
                return (504, Failure(.upstreamTimeout, "connecting to \(host) took longer than upstream.connect_timeout_seconds"))
            case .remoteConnectionClosed:
                return (502, Failure(.upstreamFailed, "\(host) closed the connection before the response was complete"))
            default:
                break
            }
        }
        if error is NIOConnectionError || error is IOError || (error as? ChannelError) == .connectTimeout(.zero) {
            return (502, Failure(.upstreamUnreachable, "cannot connect to \(host): \(error)"))
        }
        if error is CancellationError {
            return (499, Failure(.clientCancelled, "client went away before \(host) answered"))
        }
        return (502, Failure(.upstreamFailed, "\(host): \(error)"))
    }
}

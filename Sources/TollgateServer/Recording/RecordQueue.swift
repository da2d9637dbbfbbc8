import Synchronization
import TollgateCore

/// The bounded hand-off between the request path and the recorder.
///
/// `offer` never waits: a request is never slowed or failed for recording. When the queue is
/// full the call is not recorded, and the caller counts it (`tollgate_records_dropped_total`).
public final class RecordQueue: Sendable {
    struct State {
        var items: [Exchange] = []
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
    }

    let capacity: Int
    let state = Mutex(State())

    public init(capacity: Int) {
        self.capacity = capacity
    }

    /// Adds a finished call; false when the queue is full or closed.
    public func offer(_ exchange: Exchange) -> Bool {
        let (accepted, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            guard !state.closed, state.items.count < capacity else { return (false, nil) }
            state.items.append(exchange)
            let waiter = state.waiter
            state.waiter = nil
            return (true, waiter)
        }
        waiter?.resume()
        return accepted
    }

    public var depth: Int { state.withLock { $0.items.count } }

    /// Waits for calls and returns up to `max` of them, oldest first; empty once closed and drained.
    func nextBatch(max: Int) async -> [Exchange] {
        while true {
            let batch = state.withLock { state -> [Exchange]? in
                if !state.items.isEmpty {
                    let n = Swift.min(max, state.items.count)
                    let batch = Array(state.items.prefix(n))
                    state.items.removeFirst(n)
                    return batch
                }
                return state.closed ? [] : nil
            }
            if let batch { return batch }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if !state.items.isEmpty || state.closed { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Stops accepting calls; `nextBatch` drains what is left and then returns empty.
    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }
}

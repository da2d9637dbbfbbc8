import ServiceLifecycle
import Synchronization
import TollgateCore

/// Hands each call the recorder has written to the live view's subscribers (`GET
/// /v1/requests/live`, the dashboard's Live page).
///
/// The recorder calls ``publish(_:)`` after each batch is stored, so every event is a call that
/// is really there. With no subscriber that is one atomic load; with some, each matching call is
/// put in each subscriber's bounded ``LiveBuffer`` under that subscriber's lock, and the
/// subscriber's own task writes it out: a slow reader loses its oldest events (and is told how
/// many), never holds the recorder back. At most `maxSubscribers` at once. As a `Service` it ends
/// every subscription when the gateway stops.
public final class LiveFeed: Service, Sendable {
    public let maxSubscribers: Int
    /// Events each subscriber's buffer holds before the oldest are let go.
    public let bufferSize: Int
    private let subscriberCount = Atomic<Int>(0)
    private let state = Mutex(State())

    private struct State {
        var subscribers: [ObjectIdentifier: LiveSubscription] = [:]
        var closed = false
    }

    public init(maxSubscribers: Int, bufferSize: Int) {
        self.maxSubscribers = maxSubscribers
        self.bufferSize = bufferSize
    }

    public var subscribers: Int { subscriberCount.load(ordering: .relaxed) }

    /// A new subscription to the calls of `project` (every project's when nil), or nil when
    /// `maxSubscribers` are already subscribed or the gateway is stopping.
    public func subscribe(project: String?) -> LiveSubscription? {
        let subscription = LiveSubscription(project: project, bufferSize: bufferSize)
        let added = state.withLock { state -> Bool in
            guard !state.closed, state.subscribers.count < maxSubscribers else { return false }
            state.subscribers[ObjectIdentifier(subscription)] = subscription
            subscriberCount.store(state.subscribers.count, ordering: .relaxed)
            return true
        }
        return added ? subscription : nil
    }

    public func unsubscribe(_ subscription: LiveSubscription) {
        subscription.end()
        state.withLock { state in
            state.subscribers[ObjectIdentifier(subscription)] = nil
            subscriberCount.store(state.subscribers.count, ordering: .relaxed)
        }
    }

    /// Offers a written batch's calls to every subscriber; returns at once.
    public func publish(_ records: some Sequence<RequestRecord>) {
        guard subscriberCount.load(ordering: .relaxed) > 0 else { return }
        let subscribers = state.withLock { Array($0.subscribers.values) }
        guard !subscribers.isEmpty else { return }
        let calls = records.map(LiveCall.init)
        for subscriber in subscribers { subscriber.offer(calls) }
    }

    /// Ends every subscription and refuses new ones.
    public func close() {
        let ended = state.withLock { state -> [LiveSubscription] in
            state.closed = true
            let all = Array(state.subscribers.values)
            state.subscribers = [:]
            subscriberCount.store(0, ordering: .relaxed)
            return all
        }
        for subscription in ended { subscription.end() }
    }

    public func run() async throws {
        // Each stream also ends on the server's own shutdown signal (see `LiveAPI.stream`), which
        // comes first: the server stops before the services it depends on.
        try? await gracefulShutdown()
        close()
    }
}

/// One subscriber's side of the ``LiveFeed``: the calls waiting to be written to it.
public final class LiveSubscription: Sendable {
    /// The project whose calls it gets; nil for every project.
    public let project: String?
    private let state: Mutex<State>

    private struct State {
        var buffer: LiveBuffer<LiveCall>
        var heartbeatDue = false
        var ended = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    /// What the subscriber's writer does next.
    public enum Next: Equatable {
        /// Write these calls, after telling it that `dropped` older ones were let go.
        case calls([LiveCall], dropped: Int)
        /// Nothing new for a while: write a heartbeat.
        case heartbeat
        /// The subscription has ended.
        case end
    }

    init(project: String?, bufferSize: Int) {
        self.project = project
        state = Mutex(State(buffer: LiveBuffer(capacity: bufferSize)))
    }

    /// Keeps the calls of its project; never waits.
    func offer(_ calls: [LiveCall]) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.ended else { return nil }
            var added = false
            for call in calls where project == nil || call.project == project {
                state.buffer.push(call)
                added = true
            }
            guard added else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Asks the writer for a heartbeat when nothing else is waiting to be written.
    func heartbeat() {
        wake { $0.heartbeatDue = true }
    }

    /// Ends the subscription: the writer finishes what is buffered, then stops.
    func end() {
        wake { $0.ended = true }
    }

    private func wake(_ change: (inout State) -> Void) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            change(&state)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Waits for calls, a heartbeat or the end; cancelling the waiting task ends the subscription.
    public func next() async -> Next {
        while true {
            let ready = state.withLock { state -> Next? in
                if !state.buffer.isEmpty {
                    let (calls, dropped) = state.buffer.take()
                    state.heartbeatDue = false
                    return .calls(calls, dropped: dropped)
                }
                if state.ended { return .end }
                if state.heartbeatDue {
                    state.heartbeatDue = false
                    return .heartbeat
                }
                return nil
            }
            if let ready { return ready }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { state -> Bool in
                        if !state.buffer.isEmpty || state.ended || state.heartbeatDue { return true }
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                end()
            }
        }
    }
}

import Synchronization

/// Wakes one waiting loop early: signalled by whoever has new work, awaited with a timeout.
final class Wakeup: Sendable {
    struct State {
        var signalled = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let waiter = s.waiter else {
                s.signalled = true
                return nil
            }
            s.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns when signalled (now or since the last wait) or after `timeout`.
    func wait(timeout: Duration) async {
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            signal()
        }
        await withCheckedContinuation { continuation in
            let now = state.withLock { s -> Bool in
                if s.signalled {
                    s.signalled = false
                    return true
                }
                s.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
        timer.cancel()
    }
}

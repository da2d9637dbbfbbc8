import ServiceLifecycle
import Synchronization

/// The store could not be used: the database is unreachable, restarting, or did not answer in
/// time. Worth retrying later, unlike an error in what was asked.
public struct StoreUnavailable: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }

    static func timedOut(after timeout: Duration) -> StoreUnavailable {
        StoreUnavailable("the database did not answer within \(WebhookDispatcher.seconds(timeout)) s")
    }
}

/// Runs `operation` and returns what it returns, or throws ``StoreUnavailable`` once `timeout`
/// has passed, or `CancellationError` when the caller is cancelled, whether or not the operation
/// notices: a query written to a connection that has just closed may never complete. The
/// operation is then cancelled and left to end on its own, so callers must be able to retry it.
///
/// With `shutdownGrace`, graceful shutdown of the calling service shortens what is left of the
/// wait to what it returns then, so that a service stops within seconds while the database is down.
func withStoreTimeout<T: Sendable>(
    _ timeout: Duration, shutdownGrace: (@Sendable () -> Duration)? = nil, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = TimeoutRace<T>()
    @Sendable func giveUp(after delay: Duration, _ error: StoreUnavailable) -> Task<Void, Never> {
        Task {
            try? await Task.sleep(for: delay)
            if !Task.isCancelled { race.finish(.failure(error)) }
        }
    }
    func wait() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            guard race.wait(continuation) else { return }
            race.track(Task { race.finish(await Result(operation)) })
            race.track(giveUp(after: timeout, .timedOut(after: timeout)))
        }
    }
    return try await withTaskCancellationHandler {
        guard let shutdownGrace else { return try await wait() }
        return try await withGracefulShutdownHandler {
            try await wait()
        } onGracefulShutdown: {
            race.track(giveUp(after: shutdownGrace(), StoreUnavailable("the database did not answer before shutdown")))
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The first of an operation's result, its timeout or the caller's cancellation, delivered once;
/// the other tasks are cancelled.
final class TimeoutRace<T: Sendable>: Sendable {
    struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var result: Result<T, any Error>?
        var tasks: [Task<Void, Never>] = []
    }

    let state = Mutex(State())

    /// Keeps the continuation to resume; false (after resuming it) when the race is already over.
    func wait(_ continuation: CheckedContinuation<T, any Error>) -> Bool {
        let result = state.withLock { s -> Result<T, any Error>? in
            if s.result == nil { s.continuation = continuation }
            return s.result
        }
        guard let result else { return true }
        continuation.resume(with: result)
        return false
    }

    /// Keeps a task of the race, to be cancelled when it ends (at once if it has).
    func track(_ task: Task<Void, Never>) {
        let over = state.withLock { s -> Bool in
            if s.result == nil { s.tasks.append(task) }
            return s.result != nil
        }
        if over { task.cancel() }
    }

    func finish(_ result: Result<T, any Error>) {
        let taken = state.withLock { s -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>])? in
            guard s.result == nil else { return nil }
            s.result = result
            defer { s.continuation = nil; s.tasks = [] }
            return (s.continuation, s.tasks)
        }
        guard let (continuation, tasks) = taken else { return }
        tasks.forEach { $0.cancel() }
        continuation?.resume(with: result)
    }
}

extension Result where Failure == any Error {
    init(_ body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}

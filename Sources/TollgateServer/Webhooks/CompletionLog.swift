import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Writes finished attempts to the store in batches (group commit): an attempt that finishes while
/// a write is under way joins the next one, so under load one transaction logs many attempts. Each
/// caller still returns only once its own attempt is written. While the store cannot be reached
/// a batch is retried (its callers keep waiting, their deliveries stay leased), except during
/// shutdown, when its callers are told it failed.
final class CompletionLog: Sendable {
    typealias Outcome = (Delivery, AttemptResult)

    struct State {
        var pending: [(Outcome, CheckedContinuation<Void, any Error>)] = []
        var writing = false
    }

    let store: any WebhookStore
    let logger: Logger
    let state = Mutex(State())

    init(store: any WebhookStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    func complete(_ delivery: Delivery, result: AttemptResult) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let startWriter = state.withLock { s -> Bool in
                s.pending.append(((delivery, result), continuation))
                defer { s.writing = true }
                return !s.writing
            }
            if startWriter { Task { await self.writeAll() } }
        }
    }

    /// Writes whatever is pending, batch after batch, until nothing is.
    func writeAll() async {
        var outage = StoreOutage("webhook attempt logging", logger: logger)
        while true {
            let batch = state.withLock { s -> [(Outcome, CheckedContinuation<Void, any Error>)] in
                let batch = s.pending
                s.pending = []
                if batch.isEmpty { s.writing = false }
                return batch
            }
            if batch.isEmpty { return }
            await write(batch, outage: &outage)
        }
    }

    func write(_ batch: [(Outcome, CheckedContinuation<Void, any Error>)], outage: inout StoreOutage) async {
        while true {
            do {
                try await store.complete(batch.map(\.0))
                outage.succeeded()
                for (_, continuation) in batch { continuation.resume() }
                return
            } catch let error as StoreUnavailable where !Task.isShuttingDownGracefully {
                outage.failed(error)
                await outage.pause()
            } catch {
                // One bad outcome must not fail the others: write them one by one.
                for (outcome, continuation) in batch {
                    do {
                        try await store.complete([outcome])
                        continuation.resume()
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
                return
            }
        }
    }
}

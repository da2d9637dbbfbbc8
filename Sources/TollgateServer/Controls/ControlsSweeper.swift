import Foundation
import Logging
import ServiceLifecycle

/// Keeps the controls' tables bounded: every `cache.sweep_interval_seconds`, deletes expired
/// cached answers and then the oldest beyond `cache.max_bytes`, and the rate-limit counts no
/// window reads any more. In batches, so recording never waits behind it.
struct ControlsSweeper: Service {
    let store: any ControlStore
    let maxCacheBytes: Int64
    let interval: Duration
    let logger: Logger
    var batchSize = 1000

    /// Ends at graceful shutdown, and at cancellation (the server could not start), which the
    /// pause between passes would otherwise swallow.
    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await sweep(now: Date())
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass; returns the cached answers and counts it deleted.
    @discardableResult
    func sweep(now: Date) async -> (answers: Int, counts: Int) {
        var answers = 0
        do {
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                let deleted = try await store.sweepCache(now: now, maxBytes: maxCacheBytes, limit: batchSize)
                answers += deleted
                if deleted < batchSize { break }
            }
            let counts = try await store.deleteRateLimitCounts(now: now)
            if answers + counts > 0 { logger.info("controls sweep: deleted \(answers) cached answers and \(counts) rate-limit counts") }
            return (answers, counts)
        } catch {
            logger.warning("controls sweep failed, retrying at the next: \(error)")
            return (answers, 0)
        }
    }
}

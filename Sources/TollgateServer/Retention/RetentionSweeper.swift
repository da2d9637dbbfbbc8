import Foundation
import Logging
import ServiceLifecycle
import TollgateCore

/// Deletes records (with their bodies) and finished delivery logs older than their configured
/// age, and analytics rows past their resolution's keeping time or older than the records, in small batches with pauses, so recording never waits behind a long delete.
struct RetentionSweeper: Service {
    struct Settings: Sendable {
        /// Records and bodies older than this are deleted; nil keeps them.
        var recordsMaxAge: TimeInterval?
        /// Finished deliveries and their attempts older than this are deleted; nil keeps them.
        var deliveryLogsMaxAge: TimeInterval?
        var interval: Duration = .seconds(600)
        var batchSize = 1000
        var pause: Duration = .milliseconds(50)
    }

    let store: any RecordStore
    let settings: Settings
    let logger: Logger

    func run() async throws {
        // Always runs: analytics' minute and hour rows are kept for a set time even when records
        // are kept forever.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await sweep()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.interval) }
        }
    }

    /// One pass: batch after batch until nothing old is left.
    func sweep() async {
        if let age = settings.recordsMaxAge {
            await drain("records") { try await store.deleteRecords(before: Date().addingTimeInterval(-age), limit: settings.batchSize) }
        }
        if let age = settings.deliveryLogsMaxAge {
            await drain("delivery logs") { try await store.deleteDeliveryLogs(before: Date().addingTimeInterval(-age), limit: settings.batchSize) }
        }
        let recordsCutoff = settings.recordsMaxAge.map { Date().addingTimeInterval(-$0) }
        for (resolution, before) in AnalyticsSQL.sweepCutoffs(now: Date(), recordsCutoff: recordsCutoff) {
            await drain("analytics rows (\(resolution))") { try await store.deleteAnalytics(resolution, before: before, limit: settings.batchSize) }
        }
    }

    func drain(_ what: String, _ batch: () async throws -> Int) async {
        var total = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let deleted = try await batch()
                total += deleted
                if deleted < settings.batchSize { break }
                try? await Task.sleep(for: settings.pause)
            } catch {
                logger.warning("retention: deleting old \(what) failed: \(error)")
                break
            }
        }
        if total > 0 { logger.info("retention: deleted \(total) old \(what)") }
    }
}

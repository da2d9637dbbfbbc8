import Logging
import ServiceLifecycle

/// A run of failed store calls that its caller retries: logged when it starts, now and then while
/// it lasts, and when it ends (an outage gives an operator a few lines, not one per retry), with
/// the pause before each retry.
struct StoreOutage {
    /// What fails, for the log lines: "record writes", "delivery claims".
    let what: String
    let logger: Logger
    var failures = 0
    var since = ContinuousClock.now

    init(_ what: String, logger: Logger) {
        self.what = what
        self.logger = logger
    }

    var seconds: Int64 { (ContinuousClock.now - since).components.seconds }

    mutating func failed(_ error: any Error) {
        if failures == 0 {
            since = .now
            logger.warning("\(what) failing, retrying: \(error)")
        } else if failures % 20 == 0 {
            logger.warning("\(what) still failing after \(failures) tries over \(seconds) s, retrying: \(error)")
        }
        failures += 1
    }

    /// Waits before the next try: 0.2 s, doubling up to 2 s; cut short by graceful shutdown.
    func pause() async {
        let pause = Duration.milliseconds(100 << min(failures, 5))
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: min(pause, .seconds(2))) }
    }

    mutating func succeeded() {
        guard failures > 0 else { return }
        logger.notice("\(what) working again after \(failures) failed tries over \(seconds) s")
        failures = 0
    }
}

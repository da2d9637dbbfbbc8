import Foundation

/// What one delivery attempt came to.
public enum AttemptOutcome: Sendable, Equatable {
    /// The receiver answered with a 2xx status.
    case delivered(status: Int)
    /// The receiver answered with any other status, maybe asking for a pause with `Retry-After`.
    case rejected(status: Int, retryAfterSeconds: Double?)
    /// No full answer within the attempt timeout.
    case timedOut
    /// DNS, TCP or TLS failed, or the connection broke before an answer.
    case connectionFailed
    /// `DestinationPolicy` refused the URL or the address it resolved to.
    case refusedDestination
}

/// What to do with a delivery after an attempt.
public enum DeliveryDecision: Sendable, Equatable {
    case succeeded
    /// Try again once `after` has passed.
    case retry(after: Duration)
    /// No attempts remain; `reason` says what the last one came to.
    case failed(reason: String)
    /// The receiver said it is gone for good (410); stop this and every later delivery.
    case disableWebhook(reason: String)
}

/// When to retry a webhook delivery and when to give up.
///
/// A pure transition function over (attempt number, outcome), in the style of AsyncHTTPClient's
/// state machines: the caller keeps the attempt count durably, asks `decide` after each attempt and
/// acts on the answer, so a restart resumes the schedule instead of restarting it.
public struct RetryPolicy: Sendable {
    /// Standard Webhooks / Svix-like: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 27.6 h in
    /// all), so a receiver that is down for most of a day still gets every delivery.
    public static let defaultDelays: [Duration] = [
        .seconds(5), .seconds(5 * 60), .seconds(30 * 60), .seconds(2 * 3600),
        .seconds(5 * 3600), .seconds(10 * 3600), .seconds(10 * 3600),
    ]

    /// The wait after attempt 1, 2, ...; there are `delays.count + 1` attempts in all.
    public var delays: [Duration]
    /// Each wait is scaled by a random factor in `1 ± jitter`, so deliveries that failed together
    /// (a receiver outage) do not all come back in the same second.
    public var jitter: Double
    /// The seconds a receiver's `Retry-After` may ask for; a request outside is clamped into it.
    /// It can only lengthen a wait: the wait is max(scheduled, clamped Retry-After).
    public var retryAfterBounds: ClosedRange<Double>

    public init(delays: [Duration] = RetryPolicy.defaultDelays, jitter: Double = 0.2, retryAfterBounds: ClosedRange<Double> = 1...21_600) {
        self.delays = delays
        self.jitter = jitter
        self.retryAfterBounds = retryAfterBounds
    }

    /// The most attempts one delivery gets.
    public var maxAttempts: Int { delays.count + 1 }

    /// The decision after attempt number `attempt` (1 for the first) came to `outcome`.
    /// 2xx succeeds; 410 disables the webhook; any other status, a timeout, a connection failure or
    /// a refused destination (the config may be fixed meanwhile) is retried while attempts remain,
    /// and fails after the last.
    public func decide(attempt: Int, outcome: AttemptOutcome, random: inout some RandomNumberGenerator) -> DeliveryDecision {
        let status: Int?
        var retryAfter: Double?
        switch outcome {
        case let .delivered(code): status = code
        case let .rejected(code, seconds): status = code; retryAfter = seconds
        default: status = nil
        }
        if let status {
            if (200..<300).contains(status) { return .succeeded }
            if status == 410 { return .disableWebhook(reason: "the receiver answered 410 Gone") }
        }
        guard attempt >= 1, attempt <= delays.count else {
            return .failed(reason: "gave up after \(max(attempt, 1)) attempt\(attempt == 1 ? "" : "s"); the last \(Self.describe(outcome))")
        }
        // One 53-bit draw as a uniform in [0, 1): no rejection sampling, so any generator works.
        let unit = Double(random.next() >> 11) / Double(UInt64(1) << 53)
        let scheduled = Self.seconds(delays[attempt - 1]) * (1 + jitter * (2 * unit - 1))
        var wait = scheduled
        if let retryAfter, retryAfter.isFinite {
            wait = max(scheduled, min(max(retryAfter, retryAfterBounds.lowerBound), retryAfterBounds.upperBound))
        }
        return .retry(after: .milliseconds(Int64((wait * 1000).rounded())))
    }

    /// Whether a webhook that has not had a success since `failingSince` should be disabled at
    /// `now`, after failing for `after` (for example 5 days): it stops a dead receiver from keeping
    /// a queue of retries alive forever.
    public static func shouldDisable(failingSince: Date, now: Date, after: Duration) -> Bool {
        now.timeIntervalSince(failingSince) >= seconds(after)
    }

    /// Reads a `Retry-After` value: delay-seconds ("120") or an IMF-fixdate
    /// ("Sun, 06 Nov 1994 08:49:37 GMT"), as seconds from `now` (never negative). Nil otherwise.
    public static func retryAfterSeconds(_ value: String, now: Date) -> Double? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            return Double(text)
        }
        guard let date = try? Date(text, strategy: Date.ParseStrategy(format: "\(weekday: .abbreviated), \(day: .twoDigits) \(month: .abbreviated) \(year: .padded(4)) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits):\(second: .twoDigits) GMT", locale: Locale(identifier: "en_US_POSIX"), timeZone: TimeZone(identifier: "GMT")!)) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func describe(_ outcome: AttemptOutcome) -> String {
        switch outcome {
        case let .delivered(status), let .rejected(status, _): "was answered with HTTP \(status)"
        case .timedOut: "timed out"
        case .connectionFailed: "could not connect"
        case .refusedDestination: "was refused by the destination policy"
        }
    }
}

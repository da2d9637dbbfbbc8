import Foundation
import Synchronization
import TollgateCore

/// Applies a call's rate limits (SPEC §7): the `Helicone-RateLimit-Policy` it sent and the
/// policies the operator set for its gateway key, which it cannot lift. Counts live in the store,
/// so instances sharing PostgreSQL share them.
///
/// A request-counting policy adds the call first and decides on the count that includes it (one
/// atomic upsert, one round trip; the previous window's count is read once per window), giving
/// the call back if refused: instances cannot both take the last request
/// of a window, so the current window's count is exact; only the sliding window's estimate of
/// the previous window is approximate (``RateLimitWindow``). A cents policy is checked before the
/// call (is any budget left?) and charged its real cost after, so a call that starts with budget
/// left may end over it, by at most the cost of the calls in flight at that moment.
struct RateLimiter: Sendable {
    let store: any ControlStore
    /// The previous fixed windows' counts, read once per subject and window: a window that has
    /// ended no longer grows (but for the refunds of calls refused as it ended).
    let previous: PreviousWindows

    init(store: any ControlStore, previous: PreviousWindows = PreviousWindows()) {
        self.store = store
        self.previous = previous
    }

    /// Per subject, the last previous window read and its count. Bounded: emptied when it holds
    /// more than `limit` subjects.
    final class PreviousWindows: Sendable {
        let limit: Int
        private let counts = Mutex<[String: (start: Int64, amount: Double)]>([:])

        init(limit: Int = 100_000) {
            self.limit = limit
        }

        func count(subject: String, window: RateLimitWindow.Key, store: any ControlStore) async throws -> Double {
            if let known = counts.withLock({ $0[subject] }), known.start == window.previousStart { return known.amount }
            let amount = try await store.rateLimitCounts(subject: subject, windowStarts: [window.previousStart])[window.previousStart] ?? 0
            counts.withLock { counts in
                if counts.count >= limit { counts.removeAll(keepingCapacity: true) }
                counts[subject] = (window.previousStart, amount)
            }
            return amount
        }
    }

    /// A call's verdict and the headers its answer carries.
    struct Verdict: Sendable, Equatable {
        var allowed: Bool
        /// The policy the headers describe: the one that refused, or the tightest that allowed.
        var policy: RateLimitPolicy
        /// `Helicone-RateLimit-Limit`, `-Remaining` and `-Policy` of the tightest policy, and
        /// `Retry-After` when refused.
        var headers: [(String, String)]

        static func == (a: Verdict, b: Verdict) -> Bool {
            a.allowed == b.allowed && a.policy == b.policy && a.headers.elementsEqual(b.headers, by: ==)
        }
    }

    /// What one policy counts the call under, in the store.
    static func subject(project: String, policy: RateLimitPolicy, user: String?, properties: [Property]) -> String {
        "\(project)|\(policy.header)|\(policy.subject(user: user, properties: properties))"
    }

    /// Checks every applicable policy; a refused call is counted under none of them.
    func admit(project: String, policies: [RateLimitPolicy], user: String?, properties: [Property], now: Date) async throws -> Verdict? {
        var tightest: (policy: RateLimitPolicy, decision: RateLimitWindow.Decision)?
        var counted: [(subject: String, window: RateLimitWindow.Key)] = []
        for policy in policies {
            let subject = Self.subject(project: project, policy: policy, user: user, properties: properties)
            let window = RateLimitWindow.Key(containing: now, seconds: policy.windowSeconds)
            let decision: RateLimitWindow.Decision
            switch policy.unit {
            case .request:
                let current = try await store.countRateLimit(subject: subject, window: window, amount: 1)
                counted.append((subject, window))
                let before = try await previous.count(subject: subject, window: window, store: store)
                decision = RateLimitWindow.decide(policy: policy, previous: before, current: current - 1, now: now, cost: 1)
            case .cents:
                let counts = try await store.rateLimitCounts(subject: subject, windowStarts: [window.previousStart, window.start])
                decision = RateLimitWindow.decide(policy: policy, previous: counts[window.previousStart] ?? 0, current: counts[window.start] ?? 0, now: now, cost: 0)
            }
            if !decision.allowed {
                for (subject, window) in counted {
                    try await store.addToRateLimit(subject: subject, window: window, amount: -1)
                }
                return Verdict(allowed: false, policy: policy, headers: Self.headers(policy, decision))
            }
            if tightest == nil || decision.remaining < tightest!.decision.remaining {
                tightest = (policy, decision)
            }
        }
        return tightest.map { Verdict(allowed: true, policy: $0.policy, headers: Self.headers($0.policy, $0.decision)) }
    }

    /// Charges a finished call's cost to its cents policies.
    func charge(project: String, policies: [RateLimitPolicy], user: String?, properties: [Property], costUSD: Double, at time: Date) async throws {
        guard costUSD > 0 else { return }
        for policy in policies where policy.unit == .cents {
            let subject = Self.subject(project: project, policy: policy, user: user, properties: properties)
            try await store.addToRateLimit(subject: subject, window: RateLimitWindow.Key(containing: time, seconds: policy.windowSeconds), amount: costUSD * 100)
        }
    }

    static func headers(_ policy: RateLimitPolicy, _ decision: RateLimitWindow.Decision) -> [(String, String)] {
        var headers = [
            ("Helicone-RateLimit-Limit", String(policy.quota)), ("Helicone-RateLimit-Remaining", String(decision.remaining)),
            ("Helicone-RateLimit-Policy", policy.header),
        ]
        if let wait = decision.retryAfterSeconds { headers.append(("Retry-After", String(wait))) }
        return headers
    }
}

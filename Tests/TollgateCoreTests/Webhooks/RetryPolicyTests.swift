import Foundation
import Testing
import TollgateCore

/// SplitMix64, so jittered schedules are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Always the same word: 0 rolls the lowest jitter, all ones the highest.
struct ConstantGenerator: RandomNumberGenerator {
    let value: UInt64
    mutating func next() -> UInt64 { value }
}

@Suite struct RetryPolicyTests {
    static let nominal: [Double] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000]

    static func seconds(_ decision: DeliveryDecision) -> Double? {
        guard case let .retry(after) = decision else { return nil }
        return Double(after.components.seconds) + Double(after.components.attoseconds) / 1e18
    }

    static func schedule(_ policy: RetryPolicy, _ random: inout some RandomNumberGenerator) -> [Double] {
        (1...policy.delays.count).compactMap { seconds(policy.decide(attempt: $0, outcome: .rejected(status: 503, retryAfterSeconds: nil), random: &random)) }
    }

    @Test func withoutJitterAFailingReceiverIsRetriedOverAboutADay() {
        var random = SeededGenerator(state: 1)
        let delays = Self.schedule(RetryPolicy(jitter: 0), &random)
        #expect(delays == Self.nominal)
        #expect(delays.reduce(0, +) == 99_305)  // 27 h 35 min 5 s
        #expect(RetryPolicy().maxAttempts == 8)
    }

    @Test func jitteredSchedulesStayWithinTwentyPercentAndRepeatForTheSameSeed() {
        for seed in UInt64(0)..<200 {
            var a = SeededGenerator(state: seed), b = SeededGenerator(state: seed)
            let delays = Self.schedule(RetryPolicy(), &a)
            #expect(delays == Self.schedule(RetryPolicy(), &b))
            #expect(delays.count == 7)
            for (delay, nominal) in zip(delays, Self.nominal) {
                #expect(delay >= nominal * 0.8 - 0.001 && delay <= nominal * 1.2 + 0.001, "seed \(seed): \(delay) for \(nominal)")
            }
            let total = delays.reduce(0, +)
            #expect(total >= 99_305 * 0.8 && total <= 99_305 * 1.2)
        }
    }

    @Test func jitterSpreadsRetriesRatherThanBunchingThem() {
        var random = SeededGenerator(state: 7)
        let firsts = Set((0..<100).map { _ in Self.seconds(RetryPolicy().decide(attempt: 2, outcome: .timedOut, random: &random))! })
        #expect(firsts.count > 90)
        #expect(firsts.min()! < 260 && firsts.max()! > 340)
    }

    @Test func jitterReachesItsBoundsButNotBeyond() {
        var low = ConstantGenerator(value: 0), high = ConstantGenerator(value: .max)
        #expect(Self.seconds(RetryPolicy().decide(attempt: 2, outcome: .timedOut, random: &low)) == 240)
        let top = Self.seconds(RetryPolicy().decide(attempt: 2, outcome: .timedOut, random: &high))!
        #expect(top > 359 && top <= 360)
    }

    @Test func aRetryAfterLongerThanTheScheduleIsHonoured() {
        var random = ConstantGenerator(value: 0)
        #expect(Self.seconds(RetryPolicy().decide(attempt: 1, outcome: .rejected(status: 429, retryAfterSeconds: 120), random: &random)) == 120)
        #expect(Self.seconds(RetryPolicy().decide(attempt: 3, outcome: .rejected(status: 503, retryAfterSeconds: 3_600), random: &random)) == 3_600)
    }

    @Test func aRetryAfterShorterThanTheScheduleDoesNotHurryIt() {
        var random = ConstantGenerator(value: 0)
        #expect(Self.seconds(RetryPolicy().decide(attempt: 5, outcome: .rejected(status: 429, retryAfterSeconds: 60), random: &random)) == 14_400)
        #expect(Self.seconds(RetryPolicy().decide(attempt: 1, outcome: .rejected(status: 429, retryAfterSeconds: 0), random: &random)) == 4)
    }

    @Test func aHugeRetryAfterIsCappedAtSixHours() {
        var random = ConstantGenerator(value: 0)
        #expect(Self.seconds(RetryPolicy().decide(attempt: 1, outcome: .rejected(status: 503, retryAfterSeconds: 1e9), random: &random)) == 21_600)
        #expect(Self.seconds(RetryPolicy().decide(attempt: 1, outcome: .rejected(status: 503, retryAfterSeconds: .infinity), random: &random)) == 4)
        let tight = RetryPolicy(jitter: 0, retryAfterBounds: 10...60)
        #expect(Self.seconds(tight.decide(attempt: 1, outcome: .rejected(status: 503, retryAfterSeconds: 2), random: &random)) == 10)
        #expect(Self.seconds(tight.decide(attempt: 1, outcome: .rejected(status: 503, retryAfterSeconds: 600), random: &random)) == 60)
    }

    @Test(arguments: [200, 201, 202, 204, 299])
    func any2xxAnswerIsASuccess(status: Int) {
        var random = SeededGenerator(state: 1)
        #expect(RetryPolicy().decide(attempt: 1, outcome: .delivered(status: status), random: &random) == .succeeded)
        #expect(RetryPolicy().decide(attempt: 8, outcome: .delivered(status: status), random: &random) == .succeeded)
    }

    @Test func a410GoneDisablesTheWebhookAtOnce() {
        var random = SeededGenerator(state: 1)
        #expect(RetryPolicy().decide(attempt: 1, outcome: .rejected(status: 410, retryAfterSeconds: 30), random: &random)
            == .disableWebhook(reason: "the receiver answered 410 Gone"))
    }

    @Test(arguments: [
        AttemptOutcome.rejected(status: 500, retryAfterSeconds: nil), .rejected(status: 400, retryAfterSeconds: nil),
        .rejected(status: 401, retryAfterSeconds: nil), .rejected(status: 404, retryAfterSeconds: nil),
        .rejected(status: 301, retryAfterSeconds: nil), .delivered(status: 302), .timedOut, .connectionFailed, .refusedDestination,
    ])
    func everyOtherFailureIsRetriedWhileAttemptsRemain(outcome: AttemptOutcome) {
        var random = SeededGenerator(state: 1)
        for attempt in 1...7 {
            #expect(Self.seconds(RetryPolicy().decide(attempt: attempt, outcome: outcome, random: &random)) != nil)
        }
    }

    @Test(arguments: [
        (AttemptOutcome.rejected(status: 500, retryAfterSeconds: 10), "gave up after 8 attempts; the last was answered with HTTP 500"),
        (.timedOut, "gave up after 8 attempts; the last timed out"),
        (.connectionFailed, "gave up after 8 attempts; the last could not connect"),
        (.refusedDestination, "gave up after 8 attempts; the last was refused by the destination policy"),
    ])
    func afterTheEighthAttemptTheDeliveryFails(outcome: AttemptOutcome, reason: String) {
        var random = SeededGenerator(state: 1)
        #expect(RetryPolicy().decide(attempt: 8, outcome: outcome, random: &random) == .failed(reason: reason))
        #expect(RetryPolicy().decide(attempt: 9, outcome: outcome, random: &random) == .failed(reason: reason.replacingOccurrences(of: "8", with: "9")))
    }

    @Test func aPolicyWithoutRetriesFailsOnTheFirstAttempt() {
        var random = SeededGenerator(state: 1)
        #expect(RetryPolicy(delays: []).decide(attempt: 1, outcome: .timedOut, random: &random) == .failed(reason: "gave up after 1 attempt; the last timed out"))
    }

    @Test func aWebhookIsDisabledOnlyOnceItHasFailedForTheWholeThreshold() {
        let start = Date(timeIntervalSince1970: 1_796_115_600)
        let fiveDays = Duration.seconds(5 * 86_400)
        #expect(!RetryPolicy.shouldDisable(failingSince: start, now: start.addingTimeInterval(5 * 86_400 - 1), after: fiveDays))
        #expect(RetryPolicy.shouldDisable(failingSince: start, now: start.addingTimeInterval(5 * 86_400), after: fiveDays))
        #expect(!RetryPolicy.shouldDisable(failingSince: start, now: start.addingTimeInterval(-60), after: .zero))
        #expect(RetryPolicy.shouldDisable(failingSince: start, now: start.addingTimeInterval(0.5), after: .milliseconds(500)))
    }

    @Test func retryAfterIsReadAsSecondsOrAnHTTPDate() {
        let now = Date(timeIntervalSince1970: 784_111_717)  // Sun, 06 Nov 1994 08:48:37 GMT
        #expect(RetryPolicy.retryAfterSeconds("120", now: now) == 120)
        #expect(RetryPolicy.retryAfterSeconds(" 0 ", now: now) == 0)
        #expect(RetryPolicy.retryAfterSeconds("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == 60)
        #expect(RetryPolicy.retryAfterSeconds("Sun, 06 Nov 1994 08:00:00 GMT", now: now) == 0)
        #expect(RetryPolicy.retryAfterSeconds("-5", now: now) == nil)
        #expect(RetryPolicy.retryAfterSeconds("1.5", now: now) == nil)
        #expect(RetryPolicy.retryAfterSeconds("soon", now: now) == nil)
        #expect(RetryPolicy.retryAfterSeconds("", now: now) == nil)
    }
}

import Foundation
import Testing
import TollgateCore
@testable import TollgateServer

/// Rate limits against the real store (SQLite, then PostgreSQL in the test command's second pass).
@Suite("Rate limits")
struct RateLimiterTests {
    /// The start of a whole minute, and ten seconds into it.
    static let minute = Date(timeIntervalSince1970: 1_764_000_000)
    static let now = minute.addingTimeInterval(10)

    static func header(_ verdict: RateLimiter.Verdict?, _ name: String) -> String? {
        verdict?.headers.first { $0.0 == name }?.1
    }

    @Test("a per-user policy lets each user through its quota, then answers with the remaining count and when to retry")
    func perUserRequests() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        let limiter = RateLimiter(store: store)
        let policy = try RateLimitPolicy(header: "3;w=60;s=user")
        var remaining: [String?] = []
        for _ in 0..<3 {
            let verdict = try await limiter.admit(project: "p", policies: [policy], user: "alice", properties: [], now: Self.now)
            #expect(verdict?.allowed == true)
            remaining.append(Self.header(verdict, "Helicone-RateLimit-Remaining"))
        }
        #expect(remaining == ["2", "1", "0"])
        let refused = try await limiter.admit(project: "p", policies: [policy], user: "alice", properties: [], now: Self.now)
        #expect(refused?.allowed == false)
        #expect(Self.header(refused, "Helicone-RateLimit-Limit") == "3")
        #expect(Self.header(refused, "Helicone-RateLimit-Policy") == "3;w=60;s=user")
        #expect(Self.header(refused, "Retry-After") == "50", "the window ends 50 s later")
        #expect(try await limiter.admit(project: "p", policies: [policy], user: "bob", properties: [], now: Self.now)?.allowed == true)
        #expect(try await limiter.admit(project: "q", policies: [policy], user: "alice", properties: [], now: Self.now)?.allowed == true, "projects count apart")
        // Calls with no user share one count of their own: leaving the user out does not escape the limit.
        for _ in 0..<3 {
            #expect(try await limiter.admit(project: "p", policies: [policy], user: nil, properties: [], now: Self.now)?.allowed == true)
        }
        #expect(try await limiter.admit(project: "p", policies: [policy], user: nil, properties: [], now: Self.now)?.allowed == false)
        // The refused call was given back: alice's window holds her three calls.
        let subject = RateLimiter.subject(project: "p", policy: policy, user: "alice", properties: [])
        #expect(try await store.rateLimitCounts(subject: subject, windowStarts: [Int64(Self.minute.timeIntervalSince1970)]).values.first == 3)
    }

    @Test("an operator's policy holds whatever the header says, and a call refused by one policy counts under none")
    func operatorPolicyCannotBeLifted() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        let limiter = RateLimiter(store: store)
        let generous = try RateLimitPolicy(header: "100;w=60")
        let operatorPolicy = try RateLimitPolicy(header: "2;w=3600;s=team")
        let team = [Property(name: "Team", value: "search")]
        let first = try await limiter.admit(project: "p", policies: [generous, operatorPolicy], user: nil, properties: team, now: Self.now)
        #expect(Self.header(first, "Helicone-RateLimit-Policy") == "2;w=3600;s=team", "the tighter policy's headers")
        #expect(Self.header(first, "Helicone-RateLimit-Remaining") == "1")
        #expect(try await limiter.admit(project: "p", policies: [generous, operatorPolicy], user: nil, properties: team, now: Self.now)?.allowed == true)
        #expect(try await limiter.admit(project: "p", policies: [generous, operatorPolicy], user: nil, properties: team, now: Self.now)?.allowed == false)
        let generousSubject = RateLimiter.subject(project: "p", policy: generous, user: nil, properties: team)
        #expect(try await store.rateLimitCounts(subject: generousSubject, windowStarts: [Int64(Self.minute.timeIntervalSince1970)]).values.first == 2)
    }

    @Test("a cents policy lets a call start while budget is left and charges its real cost after")
    func centsPolicy() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        let limiter = RateLimiter(store: store)
        let policy = try RateLimitPolicy(header: "5;w=60;u=cents")
        #expect(try await limiter.admit(project: "p", policies: [policy], user: nil, properties: [], now: Self.now)?.allowed == true)
        // $0.03 = 3 cents charged: 2 left, so the next call may start.
        try await limiter.charge(project: "p", policies: [policy], user: nil, properties: [], costUSD: 0.03, at: Self.now)
        let second = try await limiter.admit(project: "p", policies: [policy], user: nil, properties: [], now: Self.now)
        #expect(second?.allowed == true)
        #expect(Self.header(second, "Helicone-RateLimit-Remaining") == "2")
        try await limiter.charge(project: "p", policies: [policy], user: nil, properties: [], costUSD: 0.025, at: Self.now)
        #expect(try await limiter.admit(project: "p", policies: [policy], user: nil, properties: [], now: Self.now)?.allowed == false, "5.5 cents used of 5")
    }

    @Test("calls arriving together never get more than the quota in a window")
    func concurrentCallsStayWithinQuota() async throws {
        let store = try await DeliveryHandoffTests.openStore()
        defer { DeliveryHandoffTests.close(store) }
        let limiter = RateLimiter(store: store)
        let policy = try RateLimitPolicy(header: "10;w=60")
        let allowed = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<30 {
                group.addTask { try await limiter.admit(project: "p", policies: [policy], user: nil, properties: [], now: Self.now)?.allowed == true }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(allowed == 10)
    }
}

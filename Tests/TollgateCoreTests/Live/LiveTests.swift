import Foundation
import Testing
@testable import TollgateCore

/// The live view's pure parts: the bounded buffer, the events' bytes, the page.
@Suite struct LiveBufferTests {
    @Test("a buffer that falls behind keeps its newest events and counts the ones it let go")
    func keepsNewestCountsDropped() {
        var buffer = LiveBuffer<Int>(capacity: 4)
        #expect(buffer.isEmpty)
        for n in 1...10 { buffer.push(n) }
        #expect(buffer.count == 4 && buffer.dropped == 6)
        let (elements, dropped) = buffer.take()
        #expect(elements == [7, 8, 9, 10] && dropped == 6)
        #expect(buffer.isEmpty, "a take empties the buffer and resets the count")
        buffer.push(11)
        buffer.push(12)
        #expect(buffer.take() == ([11, 12], 0))
    }

    @Test("elements keep their order across the ring's wrap")
    func orderAcrossWrap() {
        var buffer = LiveBuffer<Int>(capacity: 3)
        buffer.push(1); buffer.push(2)
        _ = buffer.take()
        for n in 3...7 { buffer.push(n) }
        #expect(buffer.take() == ([5, 6, 7], 2))
    }
}

@Suite struct LiveEventsTests {
    static let createdAt = Date(timeIntervalSince1970: 1_796_116_500.25)

    static func record(model: String? = "gpt-4o-mini", user: String? = "alice", project: String = "default") -> RequestRecord {
        RequestRecord(
            id: UUID(uuidString: "550E8400-E29B-41D4-A716-446655440000")!, project: project, createdAt: createdAt,
            method: "POST", path: "/v1/chat/completions", provider: "openai", model: model, status: 200, stream: true,
            userID: user, properties: [Property(name: "Feature", value: "search")], sessionID: nil, sessionPath: nil,
            sessionName: nil, usage: TokenUsage(inputTokens: 1000, outputTokens: 200), costUSD: 0.00024, latencyMs: 812.5,
            timeToFirstTokenMs: 120.25, requestBytes: 900, responseBytes: 4000, error: nil
        )
    }

    @Test("a call event is one SSE event: its id, the name `call`, and the summary as one line of JSON in the API's names")
    func callEvent() throws {
        let text = String(decoding: LiveEvents.call(LiveCall(Self.record())), as: UTF8.self)
        #expect(text == """
            id: 550e8400-e29b-41d4-a716-446655440000
            event: call
            data: {"id":"550e8400-e29b-41d4-a716-446655440000","created_at":"2026-12-01T09:15:00.250Z","project":"default",\
            "provider":"openai","model":"gpt-4o-mini","status":200,"user_id":"alice","properties":{"Feature":"search"},\
            "total_tokens":1200,"cost_usd":0.00024,"latency_ms":812.5,"time_to_first_token_ms":120.25,"cache_hit":false,"error":null}


            """)
    }

    @Test("a line break in a user id stays inside the JSON string, so the event keeps its one data line")
    func lineBreaksAreEscaped() {
        let text = String(decoding: LiveEvents.call(LiveCall(Self.record(user: "a\nevent: evil\n\ndata: x"))), as: UTF8.self)
        #expect(text.split(separator: "\n", omittingEmptySubsequences: false).count == 5)
        #expect(text.contains(#""user_id":"a\nevent: evil\n\ndata: x""#))
    }

    @Test("a hand-over tells of the dropped calls before the kept ones")
    func batchOrder() {
        let text = String(decoding: LiveEvents.batch([LiveCall(Self.record())], dropped: 7), as: UTF8.self)
        #expect(text.hasPrefix("event: dropped\ndata: {\"dropped\":7}\n\nid: 550e8400"))
        #expect(!String(decoding: LiveEvents.batch([LiveCall(Self.record())], dropped: 0), as: UTF8.self).contains("dropped"))
    }
}

@Suite struct LivePageTests {
    static let frame = DashboardPages.Frame(scope: "all projects", csrfToken: "t", section: "Live")

    @Test("the live page starts with the Requests rows, linked to each call, and loads its script from a file, never inline")
    func pageRowsAndScript() {
        let record = LiveCall(LiveEventsTests.record(model: "<img src=x onerror=alert(1)>")).json
        let html = DashboardPages.live(records: [record], frame: Self.frame).markup
        #expect(html.contains(DashboardPages.requestRow(record).markup))
        #expect(html.contains(#"<tr data-id="550e8400-e29b-41d4-a716-446655440000"><td class="time"><a href="/dashboard/requests/550e8400-e29b-41d4-a716-446655440000">2026-12-01 09:15:00 UTC</a></td>"#))
        #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;") && !html.contains("<img"))
        #expect(html.contains(#"<script src="/dashboard/live.js"></script>"#))
        #expect(html.components(separatedBy: "<script").count == 2, "one script element, with a src")
        #expect(html.contains(#"data-events="/dashboard/live/events" data-limit="200""#))
        #expect(html.contains(#"<a href="/dashboard/live" aria-current="page">Live</a>"#))
        #expect(html.contains(#"id="live-empty" hidden"#))
        #expect(DashboardPages.live(records: [], frame: Self.frame).markup.contains(#"<p class="empty" id="live-empty">"#))
    }

    @Test("at most the row limit is rendered")
    func rowLimit() {
        let record = LiveCall(LiveEventsTests.record()).json
        let html = DashboardPages.live(records: Array(repeating: record, count: 250), frame: Self.frame).markup
        #expect(html.components(separatedBy: "<tr data-id=").count - 1 == DashboardPages.liveRowLimit)
    }
}

extension DashboardPages {
    /// Most rows the live page keeps; older ones leave at the bottom as new ones arrive.
    public static let liveRowLimit = 200

    /// The live view: the newest calls as the Requests list shows them (`records` is the `data`
    /// of `GET /v1/requests`, newest first), and the script that adds each call recorded from then
    /// on at the top, from the server-sent events of `/dashboard/live/events`. With JavaScript
    /// off it is the list as it was when loaded.
    public static func live(records: [JSONValue], frame: Frame) -> HTML {
        let rows: [HTML] = records.prefix(liveRowLimit).map(requestRow)
        return page(title: "Live", frame: frame, content: """
            <p class="live-bar"><span id="live-state" class="live-state" role="status" aria-live="polite"></span>\
            <span class="hint">Newest first; each call appears here once it is recorded, at most \(liveRowLimit) kept on the page.</span></p>\
            <noscript><p class="hint">New calls appear here with JavaScript on. Without it this is the list as it was when \
            loaded: reload for newer calls.</p></noscript>\
            <table class="live">\(requestsHead)<tbody id="live-rows" data-events="/dashboard/live/events" data-limit="\(liveRowLimit)">\(rows)</tbody></table>\
            <p class="empty" id="live-empty"\(records.isEmpty ? "" : HTML(" hidden"))>No calls yet. They show here as they arrive.</p>\
            <script src="/dashboard/live.js"></script>
            """)
    }
}

import Foundation

/// The dashboard's pages, rendered from the JSON the management API answers (the same `data` a
/// script gets from `/v1/...`), so a page and its API twin cannot drift. Pure functions: JSON in,
/// ``HTML`` out, every value escaped, no script needed to read any of it.
public enum DashboardPages {
    /// What every page shows around its content.
    public struct Frame: Sendable {
        /// Who is signed in: "all projects" or "project X".
        public var scope: String
        /// The token that every form posting from the page carries.
        public var csrfToken: String
        /// The navigation entry to highlight.
        public var section: String

        public init(scope: String, csrfToken: String, section: String) {
            self.scope = scope
            self.csrfToken = csrfToken
            self.section = section
        }
    }

    static let sections: [(path: String, name: String)] = [
        ("/dashboard", "Overview"), ("/dashboard/requests", "Requests"), ("/dashboard/live", "Live"), ("/dashboard/latency", "Latency"),
        ("/dashboard/costs", "Costs"), ("/dashboard/webhooks", "Webhooks"),
    ]

    /// A whole page: head, navigation, sign-out and `content`.
    public static func page(title: String, frame: Frame?, content: HTML) -> HTML {
        var nav: HTML = ""
        if let frame {
            let links: [HTML] = sections.map { section in
                "<a href=\"\(section.path)\"\(section.name == frame.section ? HTML(" aria-current=\"page\"") : "")>\(section.name)</a>"
            }
            nav = """
                <header><a class="brand" href="/dashboard">Tollgate</a><nav>\(links)</nav>\
                <form method="post" action="/dashboard/logout" class="signout">\(csrfField(frame.csrfToken))\
                <span class="scope">\(frame.scope)</span><button type="submit">Sign out</button></form></header>
                """
        }
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8">\
            <meta name="viewport" content="width=device-width, initial-scale=1">\
            <title>\(title) · Tollgate</title><link rel="stylesheet" href="/dashboard/style.css"></head>\
            <body>\(nav)<main><h1>\(title)</h1>\(content)</main></body></html>
            """
    }

    static func csrfField(_ token: String) -> HTML {
        "<input type=\"hidden\" name=\"csrf\" value=\"\(token)\">"
    }

    /// The sign-in form: one password field named `key`.
    public static func signIn(error: String?) -> HTML {
        let message: HTML = error.map { "<p class=\"error\" role=\"alert\">\($0)</p>" } ?? ""
        return page(title: "Sign in", frame: nil, content: """
            \(message)<form method="post" action="/dashboard/login" class="signin">\
            <label for="key">Admin key</label><input type="password" id="key" name="key" autocomplete="current-password" required autofocus>\
            <button type="submit">Sign in</button>\
            <p class="hint">The global admin key (printed on first start, stored in tollgate-data/admin.key) sees every project; a project's key sees that project.</p></form>
            """)
    }

    // MARK: Requests

    /// The calls, newest first, with the filter form and a link to the next page.
    /// `records` is the `data` of `GET /v1/requests`; `filters` the query it was asked with.
    public static func requests(records: [JSONValue], nextCursor: String?, filters: [(String, String)], frame: Frame) -> HTML {
        func value(_ name: String) -> String { filters.first { $0.0 == name }?.1 ?? "" }
        let property = filters.first { $0.0.hasPrefix("property.") }
        let rows: [HTML] = records.map(requestRow)
        var query = filters.filter { $0.0 != "cursor" }
        let next: HTML
        if let nextCursor {
            query.append(("cursor", nextCursor))
            next = "<p><a class=\"next\" href=\"/dashboard/requests?\(formEncoded(query))\">Older calls →</a></p>"
        } else {
            next = ""
        }
        let table: HTML = records.isEmpty
            ? "<p class=\"empty\">No calls match.</p>"
            : "<table>\(requestsHead)<tbody>\(rows)</tbody></table>"
        return page(title: "Requests", frame: frame, content: """
            <form method="get" action="/dashboard/requests" class="filters">\
            <label>Model <input name="model" value="\(value("model"))"></label>\
            <label>User <input name="user_id" value="\(value("user_id"))"></label>\
            <label>Property <input name="property_name" placeholder="name" value="\(property.map { String($0.0.dropFirst("property.".count)) } ?? "")">\
            <input name="property_value" placeholder="value" value="\(property?.1 ?? "")"></label>\
            <label>Status <input name="status" size="4" value="\(value("status"))"></label>\
            <label>Since <input name="since" placeholder="2026-12-01T00:00:00Z" value="\(value("since"))"></label>\
            <label>Until <input name="until" value="\(value("until"))"></label>\
            <button type="submit">Filter</button></form>\(table)\(next)
            """)
    }

    /// The Requests list's column headings (the live page's too).
    static let requestsHead: HTML = """
        <thead><tr><th>Time</th><th>Model</th><th>Provider</th><th>Status</th><th>User</th><th>Properties</th>\
        <th class="num">Tokens</th><th class="num">Cost</th><th class="num">Latency</th><th class="num">TTFT</th></tr></thead>
        """

    /// One call's row in the Requests list, from its record JSON. The live page's script builds
    /// the same row from a live event (`DashboardScript.live` mirrors these formats).
    static func requestRow(_ r: JSONValue) -> HTML {
        let id = r["id"]?.stringValue ?? ""
        return """
            <tr data-id="\(id)"><td class="time"><a href="/dashboard/requests/\(id)">\(time(r["created_at"]))</a></td><td>\(r["model"]?.stringValue ?? "–")</td>\
            <td>\(r["provider"]?.stringValue ?? "")</td><td class="\(statusClass(r))"\(r["error"]?.stringValue.map { HTML(" title=\"\($0)\"") })>\(status(r))</td>\
            <td>\(r["user_id"]?.stringValue ?? "")</td><td>\(properties(r["properties"]))</td>\
            <td class="num">\(int(r["total_tokens"]))</td><td class="num">\(cost(r["cost_usd"]))</td>\
            <td class="num">\(ms(r["latency_ms"]))</td><td class="num">\(ms(r["time_to_first_token_ms"]))</td></tr>
            """
    }

    /// One call: every recorded field, its properties and scores, the conversation as a person
    /// reads it, and the raw JSON one click away. `document` is what `request_response_url`
    /// serves (`{"request", "response"}`), or nil when the bodies are gone.
    public static func request(record r: JSONValue, document: JSONValue?, frame: Frame) -> HTML {
        let fields: [(String, String)] = [
            ("Id", r["id"]?.stringValue ?? ""), ("Time", time(r["created_at"])), ("Project", r["project"]?.stringValue ?? ""),
            ("Provider", r["provider"]?.stringValue ?? ""), ("Model", r["model"]?.stringValue ?? "–"),
            ("Method and path", "\(r["method"]?.stringValue ?? "") \(r["path"]?.stringValue ?? "")"),
            ("Status", status(r)), ("Stream", r["stream"]?.boolValue == true ? "yes" : "no"),
            ("User", r["user_id"]?.stringValue ?? "–"), ("Session", r["session_id"]?.stringValue ?? "–"),
            ("Prompt tokens", int(r["prompt_tokens"])), ("Completion tokens", int(r["completion_tokens"])),
            ("Cache read / write tokens", "\(int(r["cache_read_tokens"])) / \(int(r["cache_write_tokens"]))"),
            ("Reasoning tokens", int(r["reasoning_tokens"])), ("Cost", cost(r["cost_usd"])),
            ("Latency", ms(r["latency_ms"])), ("Time to first token", ms(r["time_to_first_token_ms"])),
            ("Request / response bytes", "\(int(r["request_bytes"])) / \(int(r["response_bytes"]))\(r["response_truncated"]?.boolValue == true ? " (response kept in part)" : "")"),
            ("Error", r["error"]?.stringValue ?? "–"),
        ]
        let rows: [HTML] = fields.map { "<tr><th>\($0.0)</th><td>\($0.1)</td></tr>" }
        let props: [HTML] = (r["properties"]?.objectValue ?? []).map { "<tr><th>\($0.0)</th><td>\($0.1.stringValue ?? "")</td></tr>" }
        let scores: [HTML] = (r["scores"]?.objectValue ?? []).map { name, value in
            "<tr><th>\(name)</th><td>\(value.boolValue.map { $0 ? "true" : "false" } ?? value.doubleValue.map { number($0) } ?? "")</td></tr>"
        }
        var conversation: HTML = "<p class=\"empty\">The bodies of this call were not stored (omitted, or past retention).</p>"
        if let document {
            let messages: [HTML] = Conversation.messages(in: document["request"]).map { role, text in
                "<div class=\"message\"><div class=\"role\">\(role)</div><pre>\(text)</pre></div>"
            }
            let reply = Conversation.reply(in: document["response"])
            conversation = """
                <h2>Conversation</h2>\(messages)\
                <div class="message reply"><div class="role">reply</div><pre class="reply-text">\(reply ?? "(no text in the answer)")</pre></div>\
                <details><summary>Raw JSON</summary><pre class="raw">\(String(decoding: document.serialized(), as: UTF8.self))</pre></details>
                """
        }
        return page(title: "Call \(r["id"]?.stringValue ?? "")", frame: frame, content: """
            <table class="fields">\(rows)</table>\
            \(props.isEmpty ? "" : HTML("<h2>Properties</h2><table class=\"fields\">\(props)</table>"))\
            \(scores.isEmpty ? "" : HTML("<h2>Scores</h2><table class=\"fields\">\(scores)</table>"))\
            \(conversation)
            """)
    }

    /// The models whose calls had tokens but no price (`data` of `GET /v1/pricing/unpriced`).
    public static func unpricedModels(_ rows: [JSONValue]) -> HTML {
        guard !rows.isEmpty else { return "" }
        let items: [HTML] = rows.map { row in
            "<tr><td>\(row["model"]?.stringValue ?? "(no model named)")</td><td>\(row["provider"]?.stringValue ?? "")</td><td class=\"num\">\(int(row["count"]))</td><td>\(time(row["last_seen"]))</td></tr>"
        }
        return """
            <h2>Unpriced models</h2><p class="hint">Calls to these models are recorded with no cost. \
            Price them under <code>pricing.overrides</code>, or check <code>tollgate pricing MODEL</code>.</p>\
            <table class="unpriced"><thead><tr><th>Model</th><th>Provider</th><th class="num">Calls</th><th>Last seen</th></tr></thead><tbody>\(items)</tbody></table>
            """
    }

    // MARK: Webhooks

    /// The webhooks, each with its actions, and the form that creates one. `created` is the
    /// webhook just created (its key shown once), if any.
    public static func webhooks(_ webhooks: [JSONValue], created: JSONValue?, error: String?, frame: Frame) -> HTML {
        let rows: [HTML] = webhooks.map { w in
            let id = w["id"]?.stringValue ?? ""
            let enabled = w["enabled"]?.boolValue == true
            return """
                <tr><td><a href="/dashboard/webhooks/\(id)">\(w["destination"]?.stringValue ?? "")</a></td>\
                <td>\(filters(w["config"]?["propertyFilters"]))</td><td class="num">\(number(w["config"]?["sampleRate"]?.doubleValue ?? 100))%</td>\
                <td>\(w["include_data"]?.boolValue == false ? "no" : "yes")</td>\
                <td>\(enabled ? "enabled" : "disabled\(w["disabled_reason"]?.stringValue.map { ": \($0)" } ?? "")")</td>\
                <td class="actions">\(action("/dashboard/webhooks/\(id)/\(enabled ? "disable" : "enable")", enabled ? "Disable" : "Enable", frame))\
                \(action("/dashboard/webhooks/\(id)/test", "Test", frame))\(action("/dashboard/webhooks/\(id)/rotate", "Rotate key", frame))\
                \(action("/dashboard/webhooks/\(id)/delete", "Delete", frame))</td></tr>
                """
        }
        var notice: HTML = ""
        if let error { notice = "<p class=\"error\" role=\"alert\">\(error)</p>" }
        if let created {
            notice = """
                <div class="notice" role="status"><p>Webhook created for \(created["destination"]?.stringValue ?? ""). Its signing key is shown once:</p>\
                <p><code class="key">\(created["hmac_key"]?.stringValue ?? "")</code> (WEBHOOK_SECRET), \
                <code>\(created["webhook_secret"]?.stringValue ?? "")</code> (Standard Webhooks)</p></div>
                """
        }
        let table: HTML = webhooks.isEmpty
            ? "<p class=\"empty\">No webhooks yet.</p>"
            : """
                <table><thead><tr><th>Destination</th><th>Filters</th><th class="num">Sample</th><th>Data</th><th>State</th><th>Actions</th></tr></thead>\
                <tbody>\(rows)</tbody></table>
                """
        return page(title: "Webhooks", frame: frame, content: """
            \(notice)\(table)<h2>New webhook</h2>\
            <form method="post" action="/dashboard/webhooks" class="create">\(csrfField(frame.csrfToken))\
            <label>Destination <input name="destination" type="url" placeholder="https://hooks.example.com/tollgate" required size="48"></label>\
            <label>Property filters <input name="filters" placeholder="environment=production, team=search" size="36"></label>\
            <label>Sample rate (%) <input name="sample_rate" type="number" min="0" max="100" step="any" value="100"></label>\
            <label><input name="include_data" type="checkbox" value="true" checked> Include data</label>\
            <button type="submit">Create</button></form>
            """)
    }

    /// One webhook's deliveries, newest first, each with every attempt and a re-send button.
    /// `deliveries` is the `data` of `GET /v1/webhooks/{id}/deliveries`.
    public static func deliveries(webhook w: JSONValue, deliveries: [JSONValue], message: String?, frame: Frame) -> HTML {
        let id = w["id"]?.stringValue ?? ""
        let rows: [HTML] = deliveries.map { d in
            let attempts: [HTML] = (d["attempt_log"]?.arrayValue ?? []).map { a in
                """
                <li>#\(int(a["number"])) at \(time(a["started_at"])): \(a["status_code"]?.intValue.map(String.init) ?? "no answer") \
                in \(ms(a["duration_ms"]))\(a["error"]?.stringValue.map { " — \($0)" } ?? "")</li>
                """
            }
            let deliveryID = d["id"]?.stringValue ?? ""
            return """
                <tr><td>\(time(d["created_at"]))</td><td><a href="/dashboard/requests/\(d["request_id"]?.stringValue ?? "")">\(d["request_id"]?.stringValue ?? "test")</a></td>\
                <td>\(d["status"]?.stringValue ?? "")</td><td><ul class="attempts">\(attempts)</ul></td>\
                <td>\(action("/dashboard/webhooks/\(id)/deliveries/\(deliveryID)/resend", "Re-send", frame))</td></tr>
                """
        }
        let notice: HTML = message.map { "<p class=\"notice\" role=\"status\">\($0)</p>" } ?? ""
        let table: HTML = deliveries.isEmpty
            ? "<p class=\"empty\">No deliveries yet.</p>"
            : "<table><thead><tr><th>Created</th><th>Call</th><th>Status</th><th>Attempts</th><th></th></tr></thead><tbody>\(rows)</tbody></table>"
        return page(title: "Deliveries to \(w["destination"]?.stringValue ?? "")", frame: frame, content: "\(notice)\(table)")
    }

    // MARK: Pieces

    static func action(_ path: String, _ label: String, _ frame: Frame) -> HTML {
        "<form method=\"post\" action=\"\(path)\" class=\"inline\">\(csrfField(frame.csrfToken))<button type=\"submit\">\(label)</button></form>"
    }

    static func time(_ value: JSONValue?) -> String {
        guard let text = value?.stringValue else { return "" }
        // 2026-12-03T09:15:02.123Z → 2026-12-03 09:15:02 UTC
        return text.replacingOccurrences(of: "T", with: " ").split(separator: ".").first.map { $0.hasSuffix("Z") ? String($0.dropLast()) : String($0) }.map { $0 + " UTC" } ?? text
    }

    static func status(_ r: JSONValue) -> String {
        guard let code = r["status"]?.intValue else { return "" }
        return code == 0 ? "no answer" : String(code)
    }

    static func statusClass(_ r: JSONValue) -> String {
        (r["status"]?.intValue ?? 0) >= 400 || r["error"]?.stringValue != nil ? "bad" : "ok"
    }

    static func properties(_ value: JSONValue?) -> HTML {
        let items: [HTML] = (value?.objectValue ?? []).map { "<span class=\"tag\">\($0.0)=\($0.1.stringValue ?? "")</span>" }
        return items.joined()
    }

    static func filters(_ value: JSONValue?) -> String {
        (value?.arrayValue ?? []).compactMap { entry in
            guard let key = entry["key"]?.stringValue, let value = entry["value"]?.stringValue else { return nil }
            return "\(key)=\(value)"
        }.joined(separator: ", ")
    }

    static func int(_ value: JSONValue?) -> String {
        value?.doubleValue.map { String(Int($0)) } ?? "–"
    }

    static func ms(_ value: JSONValue?) -> String {
        guard let v = value?.doubleValue else { return "–" }
        return v >= 1000 ? String(format: "%.2f s", v / 1000) : String(format: "%.1f ms", v)
    }

    public static func cost(_ value: JSONValue?) -> String {
        guard let v = value?.doubleValue else { return value == nil || value?.isNull == true ? "unpriced" : "" }
        return usd(v)
    }

    public static func usd(_ v: Double) -> String {
        v == 0 ? "$0" : v < 0.01 ? String(format: "$%.6f", v) : String(format: "$%.2f", v)
    }

    static func number(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(v)
    }

    /// `a=1&b=2`, each name and value percent-encoded.
    /// A query as a browser's GET form sends it (`application/x-www-form-urlencoded`): `+` is a
    /// space, `%2B` a plus. Pairs in order; names without `=` get an empty value.
    public static func formDecoded(_ query: String) -> [(String, String)] {
        query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    public static func formEncoded(_ pairs: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return pairs.map { "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
            .joined(separator: "&")
    }
}

/// The conversation in a request and an answer, as text a person reads.
public enum Conversation {
    /// (role, text) for each message of an OpenAI or Anthropic request (`system` included).
    public static func messages(in request: JSONValue?) -> [(String, String)] {
        guard let request else { return [] }
        var out: [(String, String)] = []
        if let system = request["system"] { out.append(("system", text(of: system))) }
        for message in request["messages"]?.arrayValue ?? [] {
            out.append((message["role"]?.stringValue ?? "?", text(of: message["content"] ?? .null)))
        }
        if out.isEmpty, let input = request["input"] ?? request["prompt"] { out.append(("user", text(of: input))) }
        return out
    }

    /// The reply text of a chat completion, a completion, a Responses API response or an
    /// Anthropic message (a stream's reconstructed completion has the same shape).
    public static func reply(in response: JSONValue?) -> String? {
        guard let response else { return nil }
        if let choice = response["choices"]?[0] {
            if let content = choice["message"]?["content"], !content.isNull { return text(of: content) }
            if let text = choice["text"]?.stringValue { return text }
        }
        if let content = response["content"], content.arrayValue != nil { return text(of: content) }
        if let output = response["output"]?.arrayValue {
            let parts = output.flatMap { $0["content"]?.arrayValue ?? [] }.compactMap { $0["text"]?.stringValue }
            if !parts.isEmpty { return parts.joined() }
        }
        if let message = response["error"]?["message"]?.stringValue { return "error: \(message)" }
        return nil
    }

    /// A content value: a string, or an array of parts whose text parts are joined.
    static func text(of content: JSONValue) -> String {
        if let s = content.stringValue { return s }
        if let parts = content.arrayValue {
            return parts.compactMap { part in
                part.stringValue ?? part["text"]?.stringValue ?? part["type"]?.stringValue.map { "[\($0)]" }
            }.joined(separator: "\n")
        }
        return content.isNull ? "" : String(decoding: content.serialized(), as: UTF8.self)
    }
}

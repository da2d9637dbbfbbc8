import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import TollgateCore

/// `/dashboard`: the gateway's pages (SPEC §9). Each page asks the management API in-process, as
/// the signed-in admin key would, and renders its JSON with ``DashboardPages``: what a page shows
/// is what `/v1/...` answers, and every rule of the API (scopes, webhook destination checks)
/// holds for the pages too. Forms post; each post is checked for its session's CSRF token.
struct Dashboard: Sendable {
    typealias API = @Sendable (Request, BasicRequestContext) async throws -> Response

    let sessions: DashboardSessions
    let links: BodyLinks
    /// The live view's stream, which the Live page reads with its session.
    let live: LiveAPI
    /// The management API's responder.
    let api: API

    func register(on router: some RouterMethods<BasicRequestContext>) {
        router.get("/dashboard/style.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                     body: .init(byteBuffer: ByteBuffer(string: DashboardStyle.css)))
        }
        router.get("/dashboard/login") { request, _ in
            sessionCookie(request).flatMap { sessions.scope(ofCookie: $0) } != nil ? redirect("/dashboard") : html(DashboardPages.signIn(error: nil))
        }
        router.post("/dashboard/login") { request, _ in try await signIn(request) }
        router.get("/dashboard/logout") { request, _ in
            try await signedIn(request) { frame, _ in
                html(DashboardPages.page(title: "Sign out", frame: frame, content: "<p>Use the Sign out button above to end this session.</p>"))
            }
        }
        router.post("/dashboard/logout") { request, _ in
            try await posted(request) { _, _, _ in
                var response = redirect("/dashboard/login")
                response.headers[.setCookie] = sessions.clearCookie()
                return response
            }
        }
        router.get("/dashboard") { request, context in
            try await signedIn(request) { frame, scope in try await analytics(.overview, request, frame, scope, context) }
        }
        router.get("/dashboard/latency") { request, context in
            try await signedIn(request) { frame, scope in try await analytics(.latency, request, frame, scope, context) }
        }
        router.get("/dashboard/costs") { request, context in
            try await signedIn(request) { frame, scope in try await analytics(.costs, request, frame, scope, context) }
        }
        router.get("/dashboard/requests") { request, context in
            try await signedIn(request) { frame, scope in try await requests(request, frame, scope, context) }
        }
        router.get("/dashboard/live") { request, context in
            try await signedIn(request) { frame, scope in
                let (status, answer) = try await call(.get, "/v1/requests?limit=50", scope: scope, context: context)
                guard status == 200 else {
                    return html(DashboardPages.page(title: "Live", frame: frame, content: "<p class=\"error\">\(answer["error"]?.stringValue ?? "The request list failed.")</p>"), status: .badGateway)
                }
                return html(DashboardPages.live(records: answer["data"]?.arrayValue ?? [], frame: frame), script: true)
            }
        }
        router.get("/dashboard/live/events") { request, _ in
            // An EventSource follows no sign-in redirect: without a session, a plain 401.
            guard let cookie = sessionCookie(request), let scope = sessions.scope(ofCookie: cookie) else {
                return Envelope.failure(.unauthorized, "no dashboard session")
            }
            return live.stream(project: scope.project(requested: nil), until: sessions.expiry(ofCookie: cookie))
        }
        router.get("/dashboard/live.js") { _, _ in
            Response(status: .ok, headers: [
                .contentType: "text/javascript; charset=utf-8", .cacheControl: "max-age=3600",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ], body: .init(byteBuffer: ByteBuffer(string: DashboardScript.live)))
        }
        router.get("/dashboard/requests/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await signedIn(request) { frame, scope in try await oneRequest(id, frame, scope, context) }
        }
        router.get("/dashboard/webhooks") { request, context in
            try await signedIn(request) { frame, scope in try await webhooks(frame, scope, context, created: nil, error: nil) }
        }
        router.post("/dashboard/webhooks") { request, context in
            try await posted(request) { form, frame, scope in try await createWebhook(form, frame, scope, context) }
        }
        router.get("/dashboard/webhooks/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            let notice = request.uri.queryParameters["notice"].flatMap { Self.notices[String($0)] }
            return try await signedIn(request) { frame, scope in try await deliveries(id, frame, scope, context, message: notice) }
        }
        router.post("/dashboard/webhooks/:id/:action") { request, context in
            let id = context.parameters.get("id") ?? "", action = context.parameters.get("action") ?? ""
            return try await posted(request) { _, frame, scope in try await webhookAction(id, action, frame, scope, context) }
        }
        router.post("/dashboard/webhooks/:id/deliveries/:delivery/resend") { request, context in
            let id = context.parameters.get("id") ?? "", delivery = context.parameters.get("delivery") ?? ""
            return try await posted(request) { _, frame, scope in
                let (status, _) = try await call(.post, "/v1/webhooks/\(id)/deliveries/\(delivery)/resend", scope: scope, context: context)
                return redirect("/dashboard/webhooks/\(id)?notice=\(status == 200 ? "resent" : "resend-failed")")
            }
        }
    }

    /// What a page says after an action, by a fixed name in its query (after a redirect, so that
    /// reloading the page does not post the form again).
    static let notices = [
        "resent": "Delivery queued to be sent again.", "resend-failed": "The delivery could not be queued again.",
        "test-succeeded": "Test delivery succeeded.", "test-failed": "Test delivery failed: see its attempt below.",
    ]

    // MARK: Sessions

    func sessionCookie(_ request: Request) -> String? {
        request.cookies[DashboardSessions.cookieName]?.value
    }

    /// Runs `page` for a signed-in browser; any other gets the sign-in form (and no data).
    func signedIn(_ request: Request, _ page: (DashboardPages.Frame, AdminScope) async throws -> Response) async throws -> Response {
        guard let cookie = sessionCookie(request), let scope = sessions.scope(ofCookie: cookie) else {
            return redirect("/dashboard/login")
        }
        return try await page(frame(scope, cookie: cookie, section: request.uri.path), scope)
    }

    /// Runs `action` for a form posted by a signed-in browser with its session's CSRF token.
    func posted(_ request: Request, _ action: ([(String, String)], DashboardPages.Frame, AdminScope) async throws -> Response) async throws -> Response {
        guard let cookie = sessionCookie(request), let scope = sessions.scope(ofCookie: cookie) else {
            return redirect("/dashboard/login")
        }
        var request = request
        let form = FormFields.parse(Array(try await request.collectBody(upTo: 64 << 10).readableBytesView))
        guard sessions.checkCSRF(form.first { $0.0 == "csrf" }?.1, cookie: cookie) else {
            return html(DashboardPages.page(title: "Refused", frame: nil, content: "<p class=\"error\">This form did not come from this dashboard session. Reload the page and try again.</p>"), status: .forbidden)
        }
        return try await action(form, frame(scope, cookie: cookie, section: request.uri.path), scope)
    }

    func frame(_ scope: AdminScope, cookie: String, section path: String) -> DashboardPages.Frame {
        let section = path.hasPrefix("/dashboard/requests") ? "Requests" : path.hasPrefix("/dashboard/live") ? "Live"
            : path.hasPrefix("/dashboard/webhooks") ? "Webhooks"
            : path.hasPrefix("/dashboard/latency") ? "Latency" : path.hasPrefix("/dashboard/costs") ? "Costs" : "Overview"
        let who = switch scope {
        case .all: "all projects"
        case .project(let project): "project \(project)"
        }
        return DashboardPages.Frame(scope: who, csrfToken: sessions.csrfToken(forCookie: cookie), section: section)
    }

    func signIn(_ request: Request) async throws -> Response {
        var request = request
        let form = FormFields.parse(Array(try await request.collectBody(upTo: 16 << 10).readableBytesView))
        guard let key = form.first(where: { $0.0 == "key" })?.1, let cookie = sessions.open(adminKey: key.trimmingCharacters(in: .whitespaces)) else {
            return html(DashboardPages.signIn(error: "That is not an admin key of this gateway."), status: .unauthorized)
        }
        var response = redirect("/dashboard")
        response.headers[.setCookie] = sessions.setCookie(cookie)
        return response
    }

    // MARK: Pages

    func requests(_ request: Request, _ frame: DashboardPages.Frame, _ scope: AdminScope, _ context: BasicRequestContext) async throws -> Response {
        var filters: [(String, String)] = []
        var property: (name: String, value: String) = ("", "")
        // The filter form's own encoding: a space arrives as `+`.
        for (name, value) in DashboardPages.formDecoded(request.uri.query ?? "") {
            guard !value.isEmpty else { continue }
            switch name {
            case "model", "user_id", "status", "since", "until", "cursor": filters.append((name, value))
            case "property_name": property.name = value
            case "property_value": property.value = value
            default: if name.hasPrefix("property.") { filters.append((name, value)) }
            }
        }
        if !property.name.isEmpty { filters.append(("property.\(property.name)", property.value)) }
        let (status, answer) = try await call(.get, "/v1/requests?" + DashboardPages.formEncoded(filters + [("limit", "50")]), scope: scope, context: context)
        guard status == 200 else {
            return html(DashboardPages.page(title: "Requests", frame: frame, content: "<p class=\"error\">\(answer["error"]?.stringValue ?? "The request list failed.")</p>"), status: .badRequest)
        }
        return html(DashboardPages.requests(records: answer["data"]?.arrayValue ?? [], nextCursor: answer["next_cursor"]?.stringValue, filters: filters, frame: frame))
    }

    func oneRequest(_ id: String, _ frame: DashboardPages.Frame, _ scope: AdminScope, _ context: BasicRequestContext) async throws -> Response {
        let (status, answer) = try await call(.get, "/v1/requests/\(id)", scope: scope, context: context)
        guard status == 200, let record = answer["data"], let uuid = UUID(uuidString: id) else {
            return html(DashboardPages.page(title: "Not found", frame: frame, content: "<p>No call \(id) in this scope.</p>"), status: .notFound)
        }
        let document = (try? await links.bodiesAndLink(for: uuid))?.bodies.map(BodyDocument.json)
        return html(DashboardPages.request(record: record, document: document, frame: frame))
    }

    func webhooks(_ frame: DashboardPages.Frame, _ scope: AdminScope, _ context: BasicRequestContext, created: JSONValue?, error: String?) async throws -> Response {
        let (_, answer) = try await call(.get, "/v1/webhooks", scope: scope, context: context)
        return html(DashboardPages.webhooks(answer["data"]?.arrayValue ?? [], created: created, error: error, frame: frame), status: error == nil ? .ok : .badRequest)
    }

    func createWebhook(_ form: [(String, String)], _ frame: DashboardPages.Frame, _ scope: AdminScope, _ context: BasicRequestContext) async throws -> Response {
        func field(_ name: String) -> String { form.first { $0.0 == name }?.1 ?? "" }
        var filters: [JSONValue] = []
        for pair in field("filters").split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else {
                return try await webhooks(frame, scope, context, created: nil, error: "Property filters must be name=value pairs, separated by commas.")
            }
            filters.append(.object([("key", .string(parts[0])), ("value", .string(parts[1]))]))
        }
        let body = JSONValue.object([
            ("destination", .string(field("destination"))),
            ("config", .object([("sampleRate", .number(Double(field("sample_rate")) ?? 100)), ("propertyFilters", .array(filters))])),
            ("includeData", .bool(field("include_data") == "true")),
        ])
        let (status, answer) = try await call(.post, "/v1/webhooks", body: body, scope: scope, context: context)
        guard status == 201 else {
            return try await webhooks(frame, scope, context, created: nil, error: "Not created: \(answer["error"]?.stringValue ?? "status \(status)")")
        }
        return try await webhooks(frame, scope, context, created: answer["data"], error: nil)
    }

    func webhookAction(_ id: String, _ action: String, _ frame: DashboardPages.Frame, _ scope: AdminScope, _ context: BasicRequestContext) async throws -> Response {
        let (status, answer): (Int, JSONValue)
        switch action {
        case "enable", "disable":
            (status, answer) = try await call(.patch, "/v1/webhooks/\(id)", body: .object([("enabled", .bool(action == "enable"))]), scope: scope, context: context)
        case "test":
            (status, answer) = try await call(.post, "/v1/webhooks/\(id)/test", scope: scope, context: context)
            if status == 200 {
                return redirect("/dashboard/webhooks/\(id)?notice=\(answer["data"]?["status"]?.stringValue == "succeeded" ? "test-succeeded" : "test-failed")")
            }
        case "rotate":
            (status, answer) = try await call(.post, "/v1/webhooks/\(id)/rotate-key", scope: scope, context: context)
            if status == 200 { return try await webhooks(frame, scope, context, created: answer["data"], error: nil) }
        case "delete":
            (status, answer) = try await call(.delete, "/v1/webhooks/\(id)", scope: scope, context: context)
        default:
            return html(DashboardPages.page(title: "Not found", frame: frame, content: "<p>No such action.</p>"), status: .notFound)
        }
        guard status == 200 else {
            return try await webhooks(frame, scope, context, created: nil, error: "\(action) failed: \(answer["error"]?.stringValue ?? "status \(status)")")
        }
        return redirect("/dashboard/webhooks")
    }

    func deliveries(_ id: String, _ frame: DashboardPages.Frame, _ scope: AdminScope, _ context: BasicRequestContext, message: String?) async throws -> Response {
        let (status, webhook) = try await call(.get, "/v1/webhooks/\(id)", scope: scope, context: context)
        guard status == 200, let data = webhook["data"] else {
            return html(DashboardPages.page(title: "Not found", frame: frame, content: "<p>No webhook \(id) in this scope.</p>"), status: .notFound)
        }
        let (_, list) = try await call(.get, "/v1/webhooks/\(id)/deliveries?limit=50", scope: scope, context: context)
        return html(DashboardPages.deliveries(webhook: data, deliveries: list["data"]?.arrayValue ?? [], message: message, frame: frame))
    }

    // MARK: The API, in-process

    /// Calls the management API as the scope's admin key would; returns the status and the JSON.
    func call(_ method: HTTPRequest.Method, _ pathAndQuery: String, body: JSONValue? = nil, scope: AdminScope, context: BasicRequestContext) async throws -> (Int, JSONValue) {
        guard let key = sessions.auth.key(of: scope) else { return (401, .null) }
        var head = HTTPRequest(method: method, scheme: "http", authority: "dashboard", path: pathAndQuery)
        head.headerFields[.authorization] = "Bearer \(key)"
        head.headerFields[.contentType] = "application/json"
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer(bytes: body?.serialized() ?? [])))
        let response = try await api(request, context)
        let collected = Collected()
        try await response.body.write(collected.writer)
        return (response.status.code, (try? JSONParser.parse(collected.bytes)) ?? .null)
    }

    /// A page with its headers. Pages have no script, except with `script` (the Live page): then
    /// the dashboard's own script file, and connections back to this origin for its events;
    /// never an inline script.
    func html(_ page: HTML, status: HTTPResponse.Status = .ok, script: Bool = false) -> Response {
        Response(status: status, headers: [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            // Nothing but our own stylesheet and inline SVG.
            .contentSecurityPolicy: "default-src 'none'; \(script ? "script-src 'self'; connect-src 'self'; " : "")style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        ], body: .init(byteBuffer: ByteBuffer(string: page.markup)))
    }

    func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }
}

/// The bytes of a response body written in-process.
final class Collected: Sendable {
    private let buffer = Mutex<[UInt8]>([])
    var bytes: [UInt8] { buffer.withLock { $0 } }
    var writer: Writer { Writer(owner: self) }

    struct Writer: ResponseBodyWriter {
        let owner: Collected
        mutating func write(_ buffer: ByteBuffer) async throws { owner.buffer.withLock { $0 += buffer.readableBytesView } }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}

/// `application/x-www-form-urlencoded` fields, in order.
enum FormFields {
    static func parse(_ bytes: [UInt8]) -> [(String, String)] {
        String(decoding: bytes, as: UTF8.self).split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring?) -> String {
                let spaced = (text ?? "").replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts.first), decode(parts.count > 1 ? parts[1] : nil))
        }
    }
}

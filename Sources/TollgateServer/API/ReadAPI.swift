import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TollgateCore

/// `GET /v1/requests`, `GET /v1/requests/{id}` (admin key) and the signed
/// `GET /v1/bodies/{id}` behind `request_response_url`.
struct ReadAPI: Sendable {
    let store: any RecordStore
    let auth: AdminAuth
    let signer: BodyURLSigner
    let links: BodyLinks

    func register(on router: ManagementRouter) {
        router.get("/v1/requests") { request, _ in try await self.auth.guarded(request) { try await self.list(request, scope: $0) } }
        router.get("/v1/requests/:id") { request, context in
            try await self.auth.guarded(request) { try await self.get(context.parameters.get("id") ?? "", scope: $0) }
        }
        router.post("/v1/requests/:id/scores") { request, context in
            try await self.auth.guarded(request) { try await self.score(request, id: context.parameters.get("id") ?? "", scope: $0) }
        }
        router.get("/v1/bodies/:id") { request, context in try await self.bodies(request, id: context.parameters.get("id") ?? "") }
    }

    func list(_ request: Request, scope: AdminScope) async throws -> Response {
        var query = RecordQuery()
        let params = request.uri.queryParameters
        for (rawName, rawValue) in params {
            // Hummingbird decodes values only; a property name may be percent-encoded too.
            let name = String(rawName).removingPercentEncoding ?? String(rawName)
            let value = String(rawValue)
            switch name {
            case "user_id": query.userID = value
            case "model": query.model = value
            case "project": query.project = value
            case "status":
                guard let s = Int(value) else { return Envelope.failure(.badRequest, "status must be an integer") }
                query.status = s
            case "since", "until":
                guard let date = ISO8601.parse(value) else { return Envelope.failure(.badRequest, "\(name) must be an ISO 8601 time") }
                if name == "since" { query.since = date } else { query.until = date }
            case "limit":
                guard let l = Int(value), (1...1000).contains(l) else { return Envelope.failure(.badRequest, "limit must be 1...1000") }
                query.limit = l
            case "cursor":
                guard let c = RecordCursor(token: value) else { return Envelope.failure(.badRequest, "cursor is not one this API handed out") }
                query.cursor = c
            default:
                if name.hasPrefix("property.") {
                    query.properties.append(Property(name: String(name.dropFirst("property.".count)), value: value))
                } else if name.hasPrefix("score.") {
                    guard let number = value == "true" ? 1 : value == "false" ? 0 : Double(value) else {
                        return Envelope.failure(.badRequest, "\(name) must be a number, true or false")
                    }
                    query.scores.append(Score(name: String(name.dropFirst("score.".count)), value: number, isBool: false))
                } else {
                    return Envelope.failure(.badRequest, "unknown query parameter '\(name)'")
                }
            }
        }
        query.project = scope.project(requested: query.project)
        let page = try await store.records(matching: query)
        let scores = try await store.scores(requestIDs: page.records.map(\.id))
        return Envelope.json(.object([
            ("data", .array(page.records.map { RecordJSON.encode($0, scores: scores[$0.id] ?? []) })),
            ("next_cursor", page.nextCursor.map { .string($0.token) } ?? .null),
            ("error", .null),
        ]))
    }

    func get(_ rawID: String, scope: AdminScope) async throws -> Response {
        guard let id = UUID(uuidString: rawID) else { return Envelope.failure(.badRequest, "request id must be a UUID") }
        guard let record = try await store.record(id: id), scope.allows(record.project) else { return Envelope.failure(.notFound, "no request \(rawID)") }
        var json = RecordJSON.encode(record, scores: try await store.scores(requestIDs: [id])[id] ?? [])
        json.set("request_response_url", .string(await links.link(for: id)))
        return Envelope.data(json)
    }

    /// `POST /v1/requests/{id}/scores` with `{"scores": {"name": number or bool}}`.
    func score(_ request: Request, id rawID: String, scope: AdminScope) async throws -> Response {
        guard let id = UUID(uuidString: rawID) else { return Envelope.failure(.badRequest, "request id must be a UUID") }
        guard let record = try await store.record(id: id), scope.allows(record.project) else { return Envelope.failure(.notFound, "no request \(rawID)") }
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        guard let input = try? JSONParser.parse(body.readableBytesView), let object = input["scores"]?.objectValue, !object.isEmpty else {
            return Envelope.failure(.badRequest, #"body must be {"scores": {"<name>": <number or true/false>}}"#)
        }
        var scores: [Score] = []
        for (name, value) in object {
            guard !name.isEmpty, name.utf8.count <= 128 else { return Envelope.failure(.badRequest, "score names must be 1 to 128 bytes") }
            if let flag = value.boolValue {
                scores.append(Score(name: name, value: flag ? 1 : 0, isBool: true))
            } else if let number = value.doubleValue, number.isFinite {
                scores.append(Score(name: name, value: number, isBool: false))
            } else {
                return Envelope.failure(.badRequest, "score '\(name)' must be a number or true/false")
            }
        }
        try await store.setScores(scores, requestID: id)
        let all = try await store.scores(requestIDs: [id])[id] ?? []
        return Envelope.data(.object([("request_id", .string(rawID.lowercased())), ("scores", RecordJSON.scores(all))]))
    }

    /// Serves `{"request": …, "response": …}` for a valid, unexpired signed URL; 403 otherwise.
    func bodies(_ request: Request, id rawID: String) async throws -> Response {
        let params = request.uri.queryParameters
        let forbidden = GatewayError.response(status: .forbidden, type: "forbidden", message: "this URL is invalid or has expired", id: nil)
        guard let id = UUID(uuidString: rawID), let expires = params["expires"].flatMap({ Int64(String($0)) }),
              let signature = params["signature"].map(String.init),
              signer.verify(requestID: rawID, expires: expires, signature: signature, now: Int64(Date().timeIntervalSince1970)) else {
            return forbidden
        }
        guard let bodies = try await store.bodies(id: id) else {
            return GatewayError.response(status: .notFound, type: "not_found", message: "no stored bodies for \(rawID)", id: nil)
        }
        return Envelope.json(BodyDocument.json(bodies))
    }
}

/// Helicone's management envelope: `{"data": …, "error": null}` or `{"data": null, "error": "…"}`.
enum Envelope {
    static func data(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        json(.object([("data", value), ("error", .null)]), status: status)
    }

    static func failure(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(.object([("data", .null), ("error", .string(message))]), status: status)
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }
}

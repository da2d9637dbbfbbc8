import TollgateCore

/// What `request_response_url` serves: `{"request": …, "response": …}` (parsed JSON where a body
/// is JSON; for a stream, the rebuilt completion, with the raw events beside it).
enum BodyDocument {
    static func json(_ bodies: StoredBodies) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("request", jsonOrText(bodies.request)),
            ("response", jsonOrText(bodies.reconstructedResponse ?? bodies.response)),
        ]
        if bodies.reconstructedResponse != nil, let raw = bodies.response {
            fields.append(("response_events", .string(String(decoding: raw, as: UTF8.self))))
        }
        return .object(fields)
    }

    /// The bodies back from a document (as kept in S3): JSON re-serialised compactly, text as is.
    static func bodies(from document: [UInt8]) -> StoredBodies? {
        guard let json = try? JSONParser.parse(document) else { return nil }
        func bytes(_ value: JSONValue?) -> [UInt8]? {
            switch value {
            case nil, .null?: nil
            case .string(let text)?: Array(text.utf8)
            case let other?: other.serialized()
            }
        }
        let events = bytes(json["response_events"])
        return StoredBodies(request: bytes(json["request"]), response: events ?? bytes(json["response"]),
                            reconstructedResponse: events == nil ? nil : bytes(json["response"]))
    }

    /// A body as parsed JSON when it is JSON, else as text; null when it was not stored.
    static func jsonOrText(_ bytes: [UInt8]?) -> JSONValue {
        guard let bytes else { return .null }
        if let value = try? JSONParser.parse(bytes) { return value }
        return .string(String(decoding: bytes, as: UTF8.self))
    }
}

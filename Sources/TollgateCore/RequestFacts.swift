/// What the gateway needs to know about a request body before forwarding it.
public struct RequestFacts: Sendable, Equatable {
    /// The requested `model`.
    public var model: String?
    /// Whether `"stream": true` was asked for.
    public var stream: Bool
    /// The end user: OpenAI's `user`, else Anthropic's `metadata.user_id`.
    public var userID: String?

    public init(model: String? = nil, stream: Bool = false, userID: String? = nil) {
        self.model = model
        self.stream = stream
        self.userID = userID
    }

    /// Reads the facts from a JSON request body; a body that is not valid JSON gives no facts
    /// (nil model and user, no stream), since it is forwarded untouched anyway.
    public static func inspect(_ body: some Collection<UInt8>) -> RequestFacts {
        guard let json = try? JSONParser.parse(body) else { return RequestFacts() }
        return RequestFacts(
            model: json["model"]?.stringValue,
            stream: json["stream"]?.boolValue ?? false,
            userID: json["user"]?.stringValue ?? json["metadata"]?["user_id"]?.stringValue
        )
    }
}

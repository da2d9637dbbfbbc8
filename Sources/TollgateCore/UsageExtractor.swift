/// The wire format a provider speaks, which decides how its bodies are read.
public enum APIFormat: String, Sendable, Codable {
    case openai
    case anthropic
}

/// What the gateway records from a provider's answer.
public struct ExtractedResponse: Sendable {
    /// The model the provider says answered.
    public var model: String?
    /// Normalized token counts; nil when the answer carried none.
    public var usage: TokenUsage?
    /// For a JSON body, the parsed body; for a stream, the object the non-streaming call would
    /// have returned (so `choices[0].message.content` or `content[0].text` work on it).
    public var reconstructed: JSONValue?
    /// The message of an error reported inside a stream (an SSE `error` event, an `error`
    /// object in a chunk, or a failed Responses API response), if any.
    public var streamError: String?
    /// What the answer says about how it is billed: service tier, Anthropic's inference geo and speed.
    public var billing: BillingFacts

    public init(model: String? = nil, usage: TokenUsage? = nil, reconstructed: JSONValue? = nil, streamError: String? = nil, billing: BillingFacts = BillingFacts()) {
        self.model = model
        self.usage = usage
        self.reconstructed = reconstructed
        self.streamError = streamError
        self.billing = billing
    }
}

/// Reads model, token usage and the completion out of provider responses.
///
/// Which API produced a body is told from its shape — `object` (`chat.completion`,
/// `text_completion`, `list` of embeddings, `response`), Anthropic's `type: "message"`, or
/// the stream's event types — so one entry point serves OpenAI chat completions, legacy
/// completions, embeddings, the Responses API and Anthropic Messages. `format` (the provider's
/// configured format) only settles bodies whose shape is ambiguous. Nothing here throws: a
/// body that cannot be read yields empty fields, and the request is still recorded.
public enum UsageExtractor {
    /// Reads a whole (non-streaming) JSON response body.
    public static func fromJSON(_ body: some Collection<UInt8>, format: APIFormat) -> ExtractedResponse {
        guard let json = try? JSONParser.parse(body), case .object = json else { return ExtractedResponse() }
        return ExtractedResponse(
            model: json["model"]?.stringValue,
            usage: json["usage"].flatMap { usage(in: $0, of: json, format: format) },
            reconstructed: json,
            billing: BillingFacts(answer: json)
        )
    }

    /// Reads the raw SSE text of a whole stream and rebuilds the equivalent JSON response.
    public static func fromStream(_ raw: some Collection<UInt8>, format: APIFormat) -> ExtractedResponse {
        var openAI = OpenAIStreamAssembler()
        var anthropic = AnthropicStreamAssembler()
        var responses = ResponsesStreamAssembler()
        var streamError: String?

        for event in SSEParser.parseAll(raw) where event.data != "[DONE]" {
            guard let json = try? JSONParser.parse(event.data.utf8), case .object = json else { continue }
            let type = json["type"]?.stringValue ?? event.event ?? ""
            if let message = errorMessage(in: json, type: type) { streamError = message }
            switch json["object"]?.stringValue {
            case "chat.completion.chunk", "text_completion":
                openAI.add(json)
                continue
            default:
                break
            }
            if type.hasPrefix("response.") {
                responses.add(json, type: type)
            } else if type.hasPrefix("message_") || type.hasPrefix("content_block_") {
                anthropic.add(json, type: type)
            }
        }

        if anthropic.sawEvent {
            let message = anthropic.finishedMessage()
            return ExtractedResponse(model: anthropic.model, usage: anthropic.tokenUsage,
                                     reconstructed: message, streamError: streamError, billing: BillingFacts(answer: message))
        }
        if let response = responses.finishedResponse() {
            return ExtractedResponse(model: response["model"]?.stringValue,
                                     usage: response["usage"].flatMap { TokenUsage(openAI: $0) },
                                     reconstructed: response, streamError: streamError, billing: BillingFacts(answer: response))
        }
        if openAI.sawChunk {
            let completion = openAI.completion()
            return ExtractedResponse(model: openAI.model, usage: openAI.usage.flatMap { TokenUsage(openAI: $0) },
                                     reconstructed: completion, streamError: streamError, billing: BillingFacts(answer: completion))
        }
        return ExtractedResponse(streamError: streamError)
    }

    /// Reads an answer of which only the start and the end were kept (``BodyCapture``). For a
    /// stream, the whole events in each part are read as one stream: the model and an Anthropic
    /// stream's input tokens are at the start, the usage at the end. For JSON, the model and the
    /// kind of body come from the first such members of the start and the usage from the last
    /// `usage` object of the end. The
    /// reconstructed body is left out: it would be a part passed off as the whole.
    public static func fromTruncated(head: [UInt8], tail: [UInt8], stream: Bool, format: APIFormat) -> ExtractedResponse {
        var members: [(String, JSONValue)] = []
        for name in ["object", "type", "model"] {
            if let value = firstStringMember(name, in: head) { members.append((name, .string(value))) }
        }
        let body = JSONValue.object(members)
        let lastUsage = lastObjectMember("usage", in: tail).flatMap { usage(in: $0, of: body, format: format) }
        guard stream else { return ExtractedResponse(model: body["model"]?.stringValue, usage: lastUsage) }
        var extracted = fromStream(SSEParser.wholeEvents(head, keep: .first) + SSEParser.wholeEvents(tail, keep: .last), format: format)
        extracted.reconstructed = nil
        // A Responses API stream ends with one event holding the whole response, usage near its
        // end: when that event is larger than the kept end, its usage is still read from there.
        if extracted.usage == nil { extracted.usage = lastUsage }
        if extracted.model == nil { extracted.model = body["model"]?.stringValue }
        return extracted
    }

    /// The first `"name": "string"` in `bytes`, wherever it stands.
    static func firstStringMember(_ name: String, in bytes: [UInt8]) -> String? {
        memberValues(name, in: bytes).lazy.compactMap { $0.stringValue }.first
    }

    /// The last `"name": {…}` in `bytes` whose object is whole.
    static func lastObjectMember(_ name: String, in bytes: [UInt8]) -> JSONValue? {
        memberValues(name, in: bytes).last { if case .object = $0 { true } else { false } }
    }

    private static func memberValues(_ name: String, in bytes: [UInt8]) -> [JSONValue] {
        let key = Array("\"\(name)\"".utf8)
        guard bytes.count > key.count else { return [] }
        return bytes.withUnsafeBufferPointer { buffer in
            var values: [JSONValue] = []
            var i = 0
            while i + key.count <= buffer.count {
                guard buffer[i] == key[0], buffer[i..<(i + key.count)].elementsEqual(key) else { i += 1; continue }
                let colon = JSONMemberScanner.skipWhitespace(buffer, i + key.count)
                if colon < buffer.count, buffer[colon] == UInt8(ascii: ":") {
                    let start = JSONMemberScanner.skipWhitespace(buffer, colon + 1)
                    if let end = JSONMemberScanner.skipValue(buffer, start),
                       let value = try? JSONParser.parse(UnsafeBufferPointer(rebasing: buffer[start..<end])) {
                        values.append(value)
                    }
                }
                i += key.count
            }
            return values
        }
    }

    private static func usage(in usage: JSONValue, of body: JSONValue, format: APIFormat) -> TokenUsage? {
        if body["type"]?.stringValue == "message" { return TokenUsage(anthropic: usage) }
        if body["object"] != nil || usage["prompt_tokens"] != nil || usage["input_tokens_details"] != nil {
            return TokenUsage(openAI: usage)
        }
        return format == .anthropic ? TokenUsage(anthropic: usage) : TokenUsage(openAI: usage)
    }

    /// The message of an error carried by one stream event, if it is one.
    private static func errorMessage(in json: JSONValue, type: String) -> String? {
        if type == "response.failed" {
            guard let error = json["response"]?["error"], !error.isNull else { return "response failed" }
            return error["message"]?.stringValue ?? error.serializedString()
        }
        if type == "error" {
            return json["error"]?["message"]?.stringValue ?? json["message"]?.stringValue ?? json.serializedString()
        }
        if let error = json["error"], !error.isNull, json["choices"] == nil, json["response"] == nil {
            return error["message"]?.stringValue ?? error.stringValue ?? error.serializedString()
        }
        return nil
    }
}

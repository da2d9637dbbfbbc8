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

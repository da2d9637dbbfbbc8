/// Provider answers shaped like the real ones.
enum ProviderFixtures {
    static let chatCompletion = #"{"id":"chatcmpl-1","object":"chat.completion","created":1733000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1000,"completion_tokens":200,"total_tokens":1200,"prompt_tokens_details":{"cached_tokens":400},"completion_tokens_details":{"reasoning_tokens":0}}}"#

    static func chatChunk(_ content: String, id: String = "chatcmpl-2", usageNull: Bool = false) -> String {
        let usage = usageNull ? #","usage":null"# : ""
        return #"data: {"id":"\#(id)","object":"chat.completion.chunk","created":1733000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":"\#(content)"},"finish_reason":null}]\#(usage)}"# + "\n\n"
    }

    static func chatStopChunk(usageNull: Bool = false) -> String {
        let usage = usageNull ? #","usage":null"# : ""
        return #"data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1733000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]\#(usage)}"# + "\n\n"
    }

    static let chatUsageChunk = #"data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1733000000,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}"# + "\n\n"

    static let done = "data: [DONE]\n\n"

    static let anthropicMessage = #"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":100,"cache_read_input_tokens":1000,"cache_creation_input_tokens":500,"output_tokens":50}}"#
}

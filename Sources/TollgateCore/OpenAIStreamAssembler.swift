/// Rebuilds the object a non-streaming OpenAI chat completions or legacy completions call
/// would have returned, from the `chat.completion.chunk` / `text_completion` chunks of a
/// stream: text concatenated per choice, tool calls merged by index with their argument
/// fragments joined, the last finish reason, and the usage chunk's usage (or Groq's
/// `x_groq.usage`, which Groq sends instead).
struct OpenAIStreamAssembler {
    private struct ToolCall {
        var index: Int
        var id: JSONValue = .null
        var type: JSONValue = "function"
        var name = ""
        var arguments = ""
    }

    private struct Choice {
        var index: Int
        var role = "assistant"
        var content = ""
        var sawContent = false
        var refusal: String?
        var toolCalls: [ToolCall] = []
        var finishReason: JSONValue = .null
    }

    private var isChat = true
    private var id: JSONValue = .null
    private var created: JSONValue = .null
    private(set) var model: String?
    private var systemFingerprint: JSONValue?
    private var serviceTier: JSONValue?
    private var choices: [Choice] = []
    private(set) var usage: JSONValue?
    private(set) var sawChunk = false

    mutating func add(_ chunk: JSONValue) {
        if !sawChunk {
            sawChunk = true
            isChat = chunk["object"]?.stringValue != "text_completion"
            id = chunk["id"] ?? .null
            created = chunk["created"] ?? .null
        }
        if model == nil { model = chunk["model"]?.stringValue }
        if let fingerprint = chunk["system_fingerprint"], !fingerprint.isNull { systemFingerprint = fingerprint }
        if let tier = chunk["service_tier"], !tier.isNull { serviceTier = tier }
        if let chunkUsage = chunk["usage"] ?? chunk["x_groq"]?["usage"], !chunkUsage.isNull { usage = chunkUsage }
        for choice in chunk["choices"]?.arrayValue ?? [] {
            add(choice: choice)
        }
    }

    private mutating func add(choice delta: JSONValue) {
        let index = delta["index"]?.intValue ?? 0
        var choice = choices.first { $0.index == index } ?? Choice(index: index)
        if let reason = delta["finish_reason"], !reason.isNull { choice.finishReason = reason }
        if let text = delta["text"]?.stringValue {
            choice.content += text
            choice.sawContent = true
        }
        if let message = delta["delta"] {
            if let role = message["role"]?.stringValue { choice.role = role }
            if let content = message["content"]?.stringValue {
                choice.content += content
                choice.sawContent = true
            }
            if let refusal = message["refusal"]?.stringValue { choice.refusal = (choice.refusal ?? "") + refusal }
            for call in message["tool_calls"]?.arrayValue ?? [] {
                add(toolCall: call, to: &choice)
            }
        }
        if let i = choices.firstIndex(where: { $0.index == index }) {
            choices[i] = choice
        } else {
            choices.append(choice)
        }
    }

    private func add(toolCall delta: JSONValue, to choice: inout Choice) {
        let index = delta["index"]?.intValue ?? choice.toolCalls.count
        var call = choice.toolCalls.first { $0.index == index } ?? ToolCall(index: index)
        if let id = delta["id"], !id.isNull { call.id = id }
        if let type = delta["type"], !type.isNull { call.type = type }
        if let name = delta["function"]?["name"]?.stringValue { call.name += name }
        if let arguments = delta["function"]?["arguments"]?.stringValue { call.arguments += arguments }
        if let i = choice.toolCalls.firstIndex(where: { $0.index == index }) {
            choice.toolCalls[i] = call
        } else {
            choice.toolCalls.append(call)
        }
    }

    /// The non-streaming response object, choices in index order.
    func completion() -> JSONValue {
        let sorted = choices.sorted { $0.index < $1.index }
        var object: JSONValue = [
            "id": id,
            "object": .string(isChat ? "chat.completion" : "text_completion"),
            "created": created,
            "model": model.map(JSONValue.string) ?? .null,
            "choices": .array(sorted.map { isChat ? chatChoice($0) : completionChoice($0) }),
            "usage": usage ?? .null,
        ]
        if let serviceTier { object.set("service_tier", serviceTier) }
        if let systemFingerprint { object.set("system_fingerprint", systemFingerprint) }
        return object
    }

    private func chatChoice(_ choice: Choice) -> JSONValue {
        var message: JSONValue = [
            "role": .string(choice.role),
            "content": choice.sawContent || choice.toolCalls.isEmpty ? .string(choice.content) : .null,
        ]
        if !choice.toolCalls.isEmpty {
            message.set("tool_calls", .array(choice.toolCalls.sorted { $0.index < $1.index }.map { call in
                ["id": call.id, "type": call.type,
                 "function": ["name": .string(call.name), "arguments": .string(call.arguments)]]
            }))
        }
        if let refusal = choice.refusal { message.set("refusal", .string(refusal)) }
        return ["index": .number(Double(choice.index)), "message": message, "finish_reason": choice.finishReason]
    }

    private func completionChoice(_ choice: Choice) -> JSONValue {
        ["text": .string(choice.content), "index": .number(Double(choice.index)), "logprobs": .null,
         "finish_reason": choice.finishReason]
    }
}

/// Rebuilds the message object a non-streaming Anthropic Messages call would have returned,
/// from `message_start`, `content_block_*`, `message_delta` events: text, thinking and
/// signatures concatenated per block, tool inputs parsed from their joined JSON fragments, the
/// final stop reason, and usage merged (later `message_delta` counts replace earlier ones).
struct AnthropicStreamAssembler {
    private struct Block {
        var index: Int
        var start: JSONValue
        var text: String?
        var thinking: String?
        var signature: String?
        var inputJSON: String?
        var citations: [JSONValue] = []

        func finished() -> JSONValue {
            var block = start
            if let text { block.set("text", .string(text)) }
            if let thinking { block.set("thinking", .string(thinking)) }
            if let signature { block.set("signature", .string(signature)) }
            if let inputJSON {
                let input = inputJSON.isEmpty ? JSONValue.object([]) : try? JSONParser.parse(inputJSON.utf8)
                if let input { block.set("input", input) }
            }
            if !citations.isEmpty {
                let earlier = block["citations"]?.arrayValue ?? []
                block.set("citations", .array(earlier + citations))
            }
            return block
        }
    }

    private var message: JSONValue?
    private var blocks: [Block] = []
    private var usage: JSONValue = .object([])
    private var stopReason: JSONValue?
    private var stopSequence: JSONValue?
    private(set) var sawEvent = false

    var model: String? { message?["model"]?.stringValue }

    /// Token usage as merged so far.
    var tokenUsage: TokenUsage? { TokenUsage(anthropic: usage) }

    mutating func add(_ event: JSONValue, type: String) {
        sawEvent = true
        switch type {
        case "message_start":
            message = event["message"]
            merge(usage: event["message"]?["usage"])
        case "content_block_start":
            let index = event["index"]?.intValue ?? blocks.count
            blocks.removeAll { $0.index == index }
            blocks.append(Block(index: index, start: event["content_block"] ?? .object([])))
        case "content_block_delta":
            guard let delta = event["delta"], let i = blocks.firstIndex(where: { $0.index == event["index"]?.intValue })
            else { return }
            apply(delta, to: &blocks[i])
        case "message_delta":
            if let reason = event["delta"]?["stop_reason"] { stopReason = reason }
            if let sequence = event["delta"]?["stop_sequence"] { stopSequence = sequence }
            merge(usage: event["usage"])
        default:
            break
        }
    }

    private func apply(_ delta: JSONValue, to block: inout Block) {
        switch delta["type"]?.stringValue {
        case "text_delta":
            block.text = (block.text ?? block.start["text"]?.stringValue ?? "") + (delta["text"]?.stringValue ?? "")
        case "thinking_delta":
            block.thinking = (block.thinking ?? block.start["thinking"]?.stringValue ?? "") + (delta["thinking"]?.stringValue ?? "")
        case "signature_delta":
            block.signature = (block.signature ?? block.start["signature"]?.stringValue ?? "") + (delta["signature"]?.stringValue ?? "")
        case "input_json_delta":
            block.inputJSON = (block.inputJSON ?? "") + (delta["partial_json"]?.stringValue ?? "")
        case "citations_delta":
            if let citation = delta["citation"] { block.citations.append(citation) }
        default:
            break
        }
    }

    private mutating func merge(usage update: JSONValue?) {
        for (key, value) in update?.objectValue ?? [] where !value.isNull {
            usage.set(key, value)
        }
    }

    /// The non-streaming message object.
    func finishedMessage() -> JSONValue {
        var result = message ?? ["id": .null, "type": "message", "role": "assistant", "model": .null]
        result.set("content", .array(blocks.sorted { $0.index < $1.index }.map { $0.finished() }))
        result.set("stop_reason", stopReason ?? result["stop_reason"] ?? .null)
        result.set("stop_sequence", stopSequence ?? result["stop_sequence"] ?? .null)
        result.set("usage", usage)
        return result
    }
}

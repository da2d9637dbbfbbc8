/// Whether a streamed answer had ended when its client left: the last event of what the
/// provider sent is its final one. OpenAI's SDKs stop reading at `data: [DONE]` and may close the
/// connection before the provider's own end (the chunked terminator) arrives; such a call was
/// answered whole and is not a cancellation.
public enum StreamEnd {
    /// `last` is the end of the answer's bytes as received (a few hundred bytes suffice).
    public static func isFinal(_ last: some Collection<UInt8>) -> Bool {
        var text = Substring(String(decoding: last.suffix(1024), as: UTF8.self))
        while let end = text.last, end.isWhitespace { text.removeLast() }
        // The last event: what follows the last blank line.
        let event: Substring
        if let range = text.range(of: "\n\n", options: .backwards) ?? text.range(of: "\r\n\r\n", options: .backwards) {
            event = text[range.upperBound...]
        } else {
            event = text
        }
        if event.hasSuffix("data: [DONE]") || event.hasSuffix("data:[DONE]") { return true }  // OpenAI
        if event.contains("event: message_stop") || event.contains(#""type":"message_stop""#) { return true }  // Anthropic
        for final in ["response.completed", "response.incomplete", "response.failed"] where event.contains("event: \(final)") || event.contains(#""type":"\#(final)""#) {
            return true  // the Responses API
        }
        return false
    }
}

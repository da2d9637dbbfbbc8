/// Turns on usage reporting in an OpenAI streaming request that did not ask for it, so the
/// gateway can record tokens; `UsageChunkFilter` then hides the extra output from the client.
public enum StreamRequestRewriter {
    /// The body with `stream_options.include_usage` set to `true`, or nil when nothing should
    /// change: the body is not valid JSON, not an object, has no `"stream": true`, already asks
    /// for usage, or is not a chat completions (`messages`) or completions (`prompt`) request.
    /// The Responses API (`input`) always reports usage and rejects `include_usage`.
    ///
    /// The edit is a minimal splice — `"stream_options":{"include_usage":true},` right after
    /// the opening brace, or `"include_usage":true` inside an existing `stream_options` — so
    /// every other byte the client sent reaches the provider unchanged.
    public static func injectIncludeUsage(into body: [UInt8]) -> [UInt8]? {
        // Most calls do not stream: a byte scan for the key spares them a full parse on the hot path.
        guard contains(body, #""stream""#), let parsed = try? JSONParser.parse(body),
              parsed["stream"]?.boolValue == true,
              parsed["messages"] != nil || parsed["prompt"] != nil,
              parsed["stream_options"]?["include_usage"]?.boolValue != true
        else { return nil }
        return body.withUnsafeBufferPointer { bytes -> [UInt8]? in
            guard let top = JSONMemberScanner.members(of: bytes) else { return nil }
            let options = top.members.last { JSONMemberScanner.keyEquals($0, "stream_options", in: bytes) }
            guard let options else {
                let separator = top.members.isEmpty ? "" : ","
                return splice(body, at: (top.open + 1)..<(top.open + 1), with: #""stream_options":{"include_usage":true}"# + separator)
            }
            guard let inner = JSONMemberScanner.members(of: bytes, from: options.value.lowerBound) else {
                return splice(body, at: options.value, with: #"{"include_usage":true}"#)
            }
            if let existing = inner.members.last(where: { JSONMemberScanner.keyEquals($0, "include_usage", in: bytes) }) {
                return splice(body, at: existing.value, with: "true")
            }
            let separator = inner.members.isEmpty ? "" : ","
            return splice(body, at: (inner.open + 1)..<(inner.open + 1), with: #""include_usage":true"# + separator)
        }
    }

    static func contains(_ body: [UInt8], _ needle: StaticString) -> Bool {
        let pattern = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        guard pattern.count <= body.count, let first = pattern.first else { return false }
        var i = 0
        while i <= body.count - pattern.count {
            if body[i] == first, body[i..<(i + pattern.count)].elementsEqual(pattern) { return true }
            i += 1
        }
        return false
    }

    private static func splice(_ body: [UInt8], at range: Range<Int>, with text: String) -> [UInt8] {
        var out = body
        out.replaceSubrange(range, with: text.utf8)
        return out
    }
}

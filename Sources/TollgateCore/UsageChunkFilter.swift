/// Undoes, on the way down, the `stream_options.include_usage` that the gateway added to an
/// OpenAI stream request on the way up (see `StreamRequestRewriter`).
///
/// With usage on, OpenAI sends one extra chunk with `"choices":[]` and the usage, and adds
/// `"usage":null` to every other chunk. The client did not ask for either, so this drops the
/// usage chunk and cuts the `"usage":null` member (with one adjacent comma) out of the others,
/// leaving every other byte — line endings, comments, `data: [DONE]` — as it came.
///
/// Events are forwarded as soon as their blank line arrives, so latency is unchanged and at
/// most one unfinished event is held. Chunks may be split at any byte, including between the
/// CR and LF of a CRLF. Events whose JSON spans several `data:` lines pass unchanged.
public struct UsageChunkFilter: Sendable {
    private var pending: [UInt8] = []
    private var scanned = 0
    private var lineStart = 0
    private var afterCR = false
    private var lastEventDropped = false

    public init() {}

    /// Consumes the next upstream chunk and returns the bytes to send to the client now.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        var input = bytes[...]
        if afterCR, pending.isEmpty, input.first == 0x0A {
            if !lastEventDropped { out.append(0x0A) }
            input = input.dropFirst()
            afterCR = false
        }
        pending.append(contentsOf: input)
        var eventStart = 0
        var i = scanned
        while i < pending.count {
            let byte = pending[i]
            if byte == 0x0A, afterCR {
                afterCR = false
                i += 1
                lineStart = i
                continue
            }
            afterCR = false
            guard byte == 0x0A || byte == 0x0D else {
                i += 1
                continue
            }
            let lineWasEmpty = i == lineStart
            var end = i + 1
            if byte == 0x0D {
                if end < pending.count {
                    if pending[end] == 0x0A { end += 1 }
                } else {
                    afterCR = true
                }
            }
            if lineWasEmpty {
                emitEvent(pending[eventStart..<end], into: &out)
                eventStart = end
            }
            i = end
            lineStart = i
        }
        pending.removeFirst(eventStart)
        scanned = i - eventStart
        lineStart -= eventStart
        return out
    }

    /// Consumes the next upstream chunk and returns the bytes to send to the client now.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [UInt8] {
        withContiguousBytes(of: bytes) { feed($0) }
    }

    /// Ends the stream, returning an unterminated last event (filtered like the others).
    public mutating func finish() -> [UInt8] {
        var out: [UInt8] = []
        if !pending.isEmpty { emitEvent(pending[...], into: &out) }
        pending.removeAll()
        scanned = 0
        lineStart = 0
        afterCR = false
        return out
    }

    private mutating func emitEvent(_ event: ArraySlice<UInt8>, into out: inout [UInt8]) {
        switch Self.classify(event) {
        case .usageOnly:
            lastEventDropped = true
        case let .removeUsageNull(range):
            lastEventDropped = false
            out.append(contentsOf: event[..<(event.startIndex + range.lowerBound)])
            out.append(contentsOf: event[(event.startIndex + range.upperBound)...])
        case .keep:
            lastEventDropped = false
            out.append(contentsOf: event)
        }
    }

    private enum Verdict {
        case keep
        case usageOnly
        case removeUsageNull(Range<Int>)
    }

    /// Decides what to do with one whole event. Ranges are offsets into `event`.
    private static func classify(_ event: ArraySlice<UInt8>) -> Verdict {
        guard let data = singleDataLine(event) else { return .keep }
        return event.withUnsafeBufferPointer { buffer in
            let json = UnsafeBufferPointer(rebasing: buffer[(data.lowerBound - event.startIndex)..<(data.upperBound - event.startIndex)])
            guard let object = JSONMemberScanner.members(of: json) else { return .keep }
            let members = object.members
            guard let usage = members.firstIndex(where: { JSONMemberScanner.keyEquals($0, "usage", in: json) }) else {
                return .keep
            }
            if !JSONMemberScanner.valueEquals(members[usage], "null", in: json) {
                let noChoices = members.contains {
                    JSONMemberScanner.keyEquals($0, "choices", in: json) && JSONMemberScanner.isEmptyArray($0, in: json)
                }
                return noChoices ? .usageOnly : .keep
            }
            let cut = JSONMemberScanner.removalRange(of: usage, in: members)
            let offset = data.lowerBound - event.startIndex
            return .removeUsageNull((cut.lowerBound + offset)..<(cut.upperBound + offset))
        }
    }

    /// The value range (indices of `event`) of the event's only `data:` line; nil when it has
    /// none or several.
    private static func singleDataLine(_ event: ArraySlice<UInt8>) -> Range<Int>? {
        var found: Range<Int>?
        var i = event.startIndex
        while i < event.endIndex {
            var end = i
            while end < event.endIndex, event[end] != 0x0A, event[end] != 0x0D { end += 1 }
            if event[i..<end].starts(with: "data:".utf8) {
                guard found == nil else { return nil }
                var valueStart = i + 5
                if valueStart < end, event[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
                found = valueStart..<end
            }
            i = end
            if i < event.endIndex, event[i] == 0x0D { i += 1 }
            if i < event.endIndex, event[i] == 0x0A { i += 1 }
        }
        return found
    }
}

/// One server-sent event: its `event:` type, its `data:` lines joined with "\n", and its `id:`.
public struct SSEEvent: Sendable, Equatable {
    /// The `event:` field; nil when the event had none (the browser's "message").
    public var event: String?
    /// The `data:` lines joined with "\n".
    public var data: String
    /// The `id:` field given in this event, if any (not carried over from earlier events).
    public var id: String?

    public init(event: String? = nil, data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }
}

/// An incremental parser for `text/event-stream`, following the WHATWG rules.
///
/// Upstream bodies arrive in chunks cut anywhere — inside a line, between the CR and LF of a
/// CRLF, inside a UTF-8 sequence — so the parser keeps only the unfinished line and the event
/// being built, and yields each event once its blank line arrives. Lines may end in CRLF, LF or
/// CR; one space after the colon is dropped; `:` lines are comments; an event with no `data:`
/// line is not dispatched; a leading BOM is skipped.
///
/// One deliberate difference from browsers: `finish()` dispatches an event that was never
/// terminated, so a stream that was cut short still yields its last event.
public struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventType: String?
    private var eventID: String?
    private var skipNextLF = false
    private var atStreamStart = true

    public init() {}

    /// Consumes the next chunk and returns the events it completed.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [SSEEvent] {
        var events: [SSEEvent] = []
        let buffer = bytes.bindMemory(to: UInt8.self)
        var i = 0
        if skipNextLF, !buffer.isEmpty {
            skipNextLF = false
            if buffer[0] == 0x0A { i = 1 }
        }
        var lineStart = i
        while i < buffer.count {
            let byte = buffer[i]
            guard byte == 0x0A || byte == 0x0D else {
                i += 1
                continue
            }
            let piece = UnsafeBufferPointer(rebasing: buffer[lineStart..<i])
            if line.isEmpty {
                processLine(piece, into: &events)
            } else {
                line.append(contentsOf: piece)
                let whole = line
                line.removeAll(keepingCapacity: true)
                whole.withUnsafeBufferPointer { processLine($0, into: &events) }
            }
            i += 1
            if byte == 0x0D {
                if i < buffer.count {
                    if buffer[i] == 0x0A { i += 1 }
                } else {
                    skipNextLF = true
                }
            }
            lineStart = i
        }
        if lineStart < buffer.count {
            line.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[lineStart..<buffer.count]))
        }
        return events
    }

    /// Consumes the next chunk and returns the events it completed.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [SSEEvent] {
        withContiguousBytes(of: bytes) { feed($0) }
    }

    /// Ends the stream: an unterminated last line is taken as a line, and a pending event is
    /// dispatched even without its blank line.
    public mutating func finish() -> [SSEEvent] {
        var events: [SSEEvent] = []
        if !line.isEmpty {
            let whole = line
            line.removeAll()
            whole.withUnsafeBufferPointer { processLine($0, into: &events) }
        }
        dispatch(into: &events)
        skipNextLF = false
        return events
    }

    /// Parses a whole stream at once.
    public static func parseAll(_ bytes: some Collection<UInt8>) -> [SSEEvent] {
        var parser = SSEParser()
        return parser.feed(bytes) + parser.finish()
    }

    /// Which part of a stream cut in two a piece of bytes is.
    public enum Part: Sendable { case first, last }

    /// The whole events of a stream's first or last part: the first part up to the end of its
    /// last blank line, the last part from after its first one (LF or CRLF line ends), so two
    /// parts joined parse as complete events with nothing half-read.
    public static func wholeEvents(_ bytes: [UInt8], keep part: Part) -> [UInt8] {
        var boundaries: [Int] = []  // offsets just past a blank line
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x0A {
                if bytes[i + 1] == 0x0A {
                    boundaries.append(i + 2)
                } else if bytes[i + 1] == 0x0D, i + 2 < bytes.count, bytes[i + 2] == 0x0A {
                    boundaries.append(i + 3)
                }
            }
            if part == .last, !boundaries.isEmpty { break }
            i += 1
        }
        switch part {
        case .first: return boundaries.last.map { Array(bytes[..<$0]) } ?? []
        case .last: return boundaries.first.map { Array(bytes[$0...]) } ?? []
        }
    }

    private mutating func processLine(_ rawLine: UnsafeBufferPointer<UInt8>, into events: inout [SSEEvent]) {
        var lineBytes = rawLine
        if atStreamStart {
            atStreamStart = false
            if lineBytes.starts(with: [0xEF, 0xBB, 0xBF]) {
                lineBytes = UnsafeBufferPointer(rebasing: lineBytes[3...])
            }
        }
        if lineBytes.isEmpty {
            dispatch(into: &events)
            return
        }
        if lineBytes[0] == UInt8(ascii: ":") { return }
        let colon = lineBytes.firstIndex(of: UInt8(ascii: ":")) ?? lineBytes.endIndex
        let name = UnsafeBufferPointer(rebasing: lineBytes[..<colon])
        var valueStart = colon < lineBytes.endIndex ? colon + 1 : colon
        if valueStart < lineBytes.endIndex, lineBytes[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = UnsafeBufferPointer(rebasing: lineBytes[valueStart...])
        if name.elementsEqual("data".utf8) {
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        } else if name.elementsEqual("event".utf8) {
            eventType = value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
        } else if name.elementsEqual("id".utf8), !value.contains(0) {
            eventID = String(decoding: value, as: UTF8.self)
        }
    }

    private mutating func dispatch(into events: inout [SSEEvent]) {
        if hasData {
            events.append(SSEEvent(event: eventType, data: String(decoding: data, as: UTF8.self), id: eventID))
        }
        data.removeAll(keepingCapacity: true)
        hasData = false
        eventType = nil
        eventID = nil
    }
}

/// The copy of an answer that the gateway keeps for the recorder while it streams the answer to
/// the client, bounded so that memory does not follow answer size times concurrency.
///
/// Up to `limit` bytes the whole answer is kept. Beyond it, only the first `limit - tailSize`
/// bytes and the last `tailSize` bytes are: the start holds the model (and, for Anthropic streams,
/// the input tokens), the end holds the usage, so a record of a cut answer still has its tokens
/// and cost; the record says the body was cut (`response_truncated`).
public struct BodyCapture: Sendable {
    public let limit: Int
    public let tailSize: Int
    public private(set) var head: [UInt8] = []
    /// The bytes past the head, kept rolling: between `tailSize` and `2 × tailSize` of them, so
    /// dropping the oldest is amortized over many appends.
    private var tail: [UInt8] = []
    /// Every byte seen, kept or not.
    public private(set) var totalBytes = 0

    public init(limit: Int, tailSize: Int = 64 * 1024) {
        precondition(limit > 0 && tailSize >= 0)
        self.limit = limit
        self.tailSize = min(tailSize, limit / 2)
    }

    public var isTruncated: Bool { totalBytes > limit }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        totalBytes += bytes.count
        if totalBytes <= limit {
            head.append(contentsOf: bytes)
            return
        }
        let headSize = limit - tailSize
        if head.count > headSize {
            // The answer just outgrew the limit: what the head held past its share starts the tail.
            tail.append(contentsOf: head[headSize...])
            head.removeSubrange(headSize...)
        }
        let intoHead = min(bytes.count, headSize - head.count)
        head.append(contentsOf: bytes[..<intoHead])
        tail.append(contentsOf: bytes[intoHead...])
        if tail.count > 2 * tailSize {
            tail.removeFirst(tail.count - tailSize)
        }
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// What was kept: the whole answer, or its start and its last `tailSize` bytes.
    public func finish() -> CapturedBody {
        if !isTruncated { return CapturedBody(head: head, tail: nil, totalBytes: totalBytes) }
        return CapturedBody(head: head, tail: Array(tail.suffix(tailSize)), totalBytes: totalBytes)
    }
}

/// An answer as kept by ``BodyCapture``.
public struct CapturedBody: Sendable, Equatable {
    /// The whole answer, or its first bytes when it was cut.
    public var head: [UInt8]
    /// The answer's last bytes when it was cut; nil when `head` is the whole answer.
    public var tail: [UInt8]?
    /// The answer's size as sent.
    public var totalBytes: Int

    public init(head: [UInt8], tail: [UInt8]? = nil, totalBytes: Int? = nil) {
        self.head = head
        self.tail = tail
        self.totalBytes = totalBytes ?? head.count + (tail?.count ?? 0)
    }

    public var isTruncated: Bool { tail != nil }
}

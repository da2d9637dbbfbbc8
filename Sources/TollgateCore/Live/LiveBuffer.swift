/// A subscriber's bounded buffer of live events: it keeps the newest `capacity` and counts the
/// older ones it had to let go, so a reader that falls behind skips ahead (and is told how many
/// it missed) instead of holding anyone back or growing without bound.
public struct LiveBuffer<Element: Sendable>: Sendable {
    public let capacity: Int
    private var slots: [Element?]
    /// Index of the oldest kept element.
    private var head = 0
    public private(set) var count = 0
    /// Elements let go since the last ``take()``.
    public private(set) var dropped = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "a live buffer holds at least one event")
        self.capacity = capacity
        slots = Array(repeating: nil, count: capacity)
    }

    /// Whether a ``take()`` would hand over nothing: no element and no drop to report.
    public var isEmpty: Bool { count == 0 && dropped == 0 }

    /// Keeps `element`; when full, lets the oldest go (counted in ``dropped``).
    public mutating func push(_ element: Element) {
        if count == capacity {
            slots[head] = element
            head = (head + 1) % capacity
            dropped += 1
        } else {
            slots[(head + count) % capacity] = element
            count += 1
        }
    }

    /// Everything kept, oldest first, and how many were let go before them; empties the buffer.
    public mutating func take() -> (elements: [Element], dropped: Int) {
        var elements: [Element] = []
        elements.reserveCapacity(count)
        for offset in 0..<count {
            let index = (head + offset) % capacity
            if let element = slots[index] { elements.append(element) }
            slots[index] = nil
        }
        let result = (elements, dropped)
        head = 0
        count = 0
        dropped = 0
        return result
    }
}

/// The live view's server-sent events (`text/event-stream`), as bytes:
///
///     event: call          one recorded call, `data` is its ``LiveCall/json``
///     event: dropped       `{"dropped": N}`: N older calls were let go because the reader fell behind
///     : heartbeat          a comment, so that proxies keep a quiet stream open
///
/// JSON as written here has no line break, so each `data` is one line.
public enum LiveEvents {
    /// The stream's opening: how long a browser waits before reconnecting, and a first comment
    /// that tells a proxy the answer has started.
    public static let opening: [UInt8] = Array("retry: 3000\n: live calls\n\n".utf8)

    public static let heartbeat: [UInt8] = Array(": heartbeat\n\n".utf8)

    public static func call(_ call: LiveCall) -> [UInt8] {
        var bytes = Array("id: \(call.id.uuidString.lowercased())\nevent: call\ndata: ".utf8)
        bytes += call.json.serialized()
        bytes += Array("\n\n".utf8)
        return bytes
    }

    public static func dropped(_ count: Int) -> [UInt8] {
        Array("event: dropped\ndata: {\"dropped\":\(count)}\n\n".utf8)
    }

    /// What a reader is sent for one hand-over from its buffer: the drop notice first (the calls
    /// let go came before the ones kept), then each call, oldest first.
    public static func batch(_ calls: [LiveCall], dropped: Int) -> [UInt8] {
        var bytes = dropped > 0 ? Self.dropped(dropped) : []
        for call in calls { bytes += Self.call(call) }
        return bytes
    }
}

// A fast fake LLM provider for the benchmarks, written directly on SwiftNIO channel handlers.
//
// POST .../chat/completions  OpenAI chat completion: JSON, or SSE when the body has "stream": true
//                            (with the usage chunk and "usage":null members when it asks for
//                            stream_options.include_usage, as OpenAI sends them)
// POST .../messages          Anthropic message: JSON, or its SSE event sequence when streaming
// GET  /health               "ok"
//
// Options (flags, each also a per-request header x-fake-NAME, e.g. x-fake-chunks: 5):
//   --host 127.0.0.1 --port 0   listen address; port 0 = OS-assigned. Prints "listening on PORT".
//   --chunks 20                 content chunks in a stream
//   --ttfc-ms 0                 delay before the first chunk of a stream
//   --gap-ms 0                  delay between chunks
//   --body-bytes 400            completion text length (split across the chunks when streaming)
//   --threads N                 event loop threads (default: cores)
// Usage is real-shaped: prompt tokens = request bytes / 4, completion tokens = text bytes / 4.

import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Shape {
    var chunks = 20
    var ttfcMs = 0
    var gapMs = 0
    var bodyBytes = 400
}

var host = "127.0.0.1"
var port = 0
var threads = System.coreCount
var defaults = Shape()

do {
    var args = CommandLine.arguments.dropFirst().makeIterator()
    while let flag = args.next() {
        guard let value = args.next() else { fatalError("\(flag) needs a value") }
        switch flag {
        case "--host": host = value
        case "--port": port = Int(value)!
        case "--threads": threads = Int(value)!
        case "--chunks": defaults.chunks = max(1, Int(value)!)
        case "--ttfc-ms": defaults.ttfcMs = Int(value)!
        case "--gap-ms": defaults.gapMs = Int(value)!
        case "--body-bytes": defaults.bodyBytes = Int(value)!
        default: fatalError("unknown flag \(flag)")
        }
    }
}

/// Completion text of exactly `count` bytes, JSON-safe (letters and spaces only).
func text(_ count: Int) -> [UInt8] {
    let words: [UInt8] = Array("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(count)
    while out.count < count { out.append(words[out.count % words.count]) }
    return out
}

let textCache: [UInt8] = text(defaults.bodyBytes)

func completionText(_ bytes: Int) -> [UInt8] { bytes == defaults.bodyBytes ? textCache : text(bytes) }

// MARK: - request scanning (no JSON parsing: the fake must stay cheap)

extension ByteBufferView {
    /// Index just after `needle`, or nil.
    func find(_ needle: StaticString) -> Index? {
        let n = needle.utf8Start
        let len = needle.utf8CodeUnitCount
        guard count >= len else { return nil }
        var i = startIndex
        let last = endIndex - len
        while i <= last {
            if self[i] == n[0] {
                var j = 1
                while j < len, self[i + j] == n[j] { j += 1 }
                if j == len { return i + len }
            }
            i += 1
        }
        return nil
    }

    func skipSpaceColon(_ from: Index) -> Index {
        var i = from
        while i < endIndex, self[i] == UInt8(ascii: " ") || self[i] == UInt8(ascii: ":") || self[i] == UInt8(ascii: "\n") { i += 1 }
        return i
    }

    /// Whether `"key": true` appears.
    func flag(_ key: StaticString) -> Bool {
        guard let after = find(key) else { return false }
        let i = skipSpaceColon(after)
        return i < endIndex && self[i] == UInt8(ascii: "t")
    }

    /// The string value of the first `"model"` member.
    func model() -> [UInt8]? {
        guard let after = find("\"model\"") else { return nil }
        var i = skipSpaceColon(after)
        guard i < endIndex, self[i] == UInt8(ascii: "\"") else { return nil }
        i += 1
        let start = i
        while i < endIndex, self[i] != UInt8(ascii: "\"") { i += 1 }
        return Array(self[start..<i])
    }
}

// MARK: - bodies

enum Format { case openai, anthropic }

struct Call {
    var format: Format
    var stream: Bool
    var includeUsage: Bool
    var model: [UInt8]
    var promptTokens: Int
    var shape: Shape
    var completionTokens: Int { max(1, shape.bodyBytes / 4) }
}

extension ByteBuffer {
    mutating func writeInt(_ value: Int) { writeString(String(value)) }
}

func openAIJSON(_ call: Call, into b: inout ByteBuffer) {
    b.writeStaticString(#"{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":""#)
    b.writeBytes(call.model)
    b.writeStaticString(#"","choices":[{"index":0,"message":{"role":"assistant","content":""#)
    b.writeBytes(completionText(call.shape.bodyBytes))
    b.writeStaticString(#"","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":"#)
    b.writeInt(call.promptTokens)
    b.writeStaticString(#","completion_tokens":"#)
    b.writeInt(call.completionTokens)
    b.writeStaticString(#","total_tokens":"#)
    b.writeInt(call.promptTokens + call.completionTokens)
    b.writeStaticString(#","prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},"system_fingerprint":"fp_bench"}"#)
}

func anthropicJSON(_ call: Call, into b: inout ByteBuffer) {
    b.writeStaticString(#"{"id":"msg_bench","type":"message","role":"assistant","model":""#)
    b.writeBytes(call.model)
    b.writeStaticString(#"","content":[{"type":"text","text":""#)
    b.writeBytes(completionText(call.shape.bodyBytes))
    b.writeStaticString(#""}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":"#)
    b.writeInt(call.promptTokens)
    b.writeStaticString(#","cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":"#)
    b.writeInt(call.completionTokens)
    b.writeStaticString(#"}}"#)
}

/// The stream as frames: frame 0 is sent after ttfc, frame k after ttfc + k * gap.
func frames(_ call: Call, allocator: ByteBufferAllocator) -> [ByteBuffer] {
    let content = completionText(call.shape.bodyBytes)
    let n = call.shape.chunks
    var out: [ByteBuffer] = []
    out.reserveCapacity(n)
    for k in 0..<n {
        let lo = content.count * k / n, hi = content.count * (k + 1) / n
        let piece = content[lo..<hi]
        var b = allocator.buffer(capacity: 512)
        switch call.format {
        case .openai:
            let usageNull = call.includeUsage ? #","usage":null"# : ""
            func chunk(_ b: inout ByteBuffer, delta: [UInt8], finish: StaticString) {
                b.writeStaticString(#"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":""#)
                b.writeBytes(call.model)
                b.writeStaticString(#"","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":"#)
                b.writeBytes(delta)
                b.writeStaticString(#","logprobs":null,"finish_reason":"#)
                b.writeStaticString(finish)
                b.writeStaticString("}]")
                b.writeString(usageNull)
                b.writeStaticString("}\n\n")
            }
            if k == 0 {
                chunk(&b, delta: Array(#"{"role":"assistant","content":"","refusal":null}"#.utf8), finish: "null")
            }
            chunk(&b, delta: Array(#"{"content":""#.utf8) + piece + Array(#""}"#.utf8), finish: "null")
            if k == n - 1 {
                chunk(&b, delta: Array("{}".utf8), finish: #""stop""#)
                if call.includeUsage {
                    b.writeStaticString(#"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":""#)
                    b.writeBytes(call.model)
                    b.writeStaticString(#"","system_fingerprint":"fp_bench","choices":[],"usage":{"prompt_tokens":"#)
                    b.writeInt(call.promptTokens)
                    b.writeStaticString(#","completion_tokens":"#)
                    b.writeInt(call.completionTokens)
                    b.writeStaticString(#","total_tokens":"#)
                    b.writeInt(call.promptTokens + call.completionTokens)
                    b.writeStaticString(#","prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}"#)
                    b.writeStaticString("\n\n")
                }
                b.writeStaticString("data: [DONE]\n\n")
            }
        case .anthropic:
            if k == 0 {
                b.writeStaticString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"")
                b.writeBytes(call.model)
                b.writeStaticString("\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":")
                b.writeInt(call.promptTokens)
                b.writeStaticString(",\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n")
                b.writeStaticString("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
            }
            b.writeStaticString("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"")
            b.writeBytes(piece)
            b.writeStaticString("\"}}\n\n")
            if k == n - 1 {
                b.writeStaticString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
                b.writeStaticString("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":")
                b.writeInt(call.completionTokens)
                b.writeStaticString("}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
            }
        }
        out.append(b)
    }
    return out
}

// MARK: - the handler

final class FakeProviderHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?
    private var body: ByteBuffer?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = nil
        case .body(var part):
            if body == nil { body = part } else { body!.writeBuffer(&part) }
        case .end:
            guard let head else { return }
            self.head = nil
            respond(context, head, body ?? context.channel.allocator.buffer(capacity: 0))
            body = nil
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ body: ByteBuffer) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let keepAlive = head.isKeepAlive
        let format: Format
        if head.method == .POST, path.hasSuffix("/chat/completions") {
            format = .openai
        } else if head.method == .POST, path.hasSuffix("/messages") {
            format = .anthropic
        } else if path == "/health" {
            writeSimple(context, .ok, "ok", keepAlive)
            return
        } else {
            writeSimple(context, .notFound, #"{"error":{"type":"not_found","message":"fake provider: unknown path"}}"#, keepAlive)
            return
        }
        var shape = defaults
        if let v = head.headers.first(name: "x-fake-chunks").flatMap(Int.init) { shape.chunks = max(1, v) }
        if let v = head.headers.first(name: "x-fake-ttfc-ms").flatMap(Int.init) { shape.ttfcMs = v }
        if let v = head.headers.first(name: "x-fake-gap-ms").flatMap(Int.init) { shape.gapMs = v }
        if let v = head.headers.first(name: "x-fake-body-bytes").flatMap(Int.init) { shape.bodyBytes = v }
        let view = body.readableBytesView
        let call = Call(
            format: format, stream: view.flag("\"stream\""), includeUsage: view.flag("\"include_usage\""),
            model: view.model() ?? Array("gpt-4o-mini".utf8), promptTokens: max(1, body.readableBytes / 4), shape: shape
        )
        var headers = HTTPHeaders()
        if !call.stream {
            var out = context.channel.allocator.buffer(capacity: 512 + shape.bodyBytes)
            switch format {
            case .openai: openAIJSON(call, into: &out)
            case .anthropic: anthropicJSON(call, into: &out)
            }
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: String(out.readableBytes))
            if !keepAlive { headers.add(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(out))), promise: nil)
            end(context, keepAlive)
            return
        }
        headers.add(name: "content-type", value: "text/event-stream; charset=utf-8")
        headers.add(name: "cache-control", value: "no-cache")
        headers.add(name: "transfer-encoding", value: "chunked")
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
        let all = frames(call, allocator: context.channel.allocator)
        if shape.ttfcMs == 0 && shape.gapMs == 0 {
            for f in all { context.write(wrapOutboundOut(.body(.byteBuffer(f))), promise: nil) }
            end(context, keepAlive)
            return
        }
        send(context, all, 0, delay: shape.ttfcMs, gap: shape.gapMs, keepAlive: keepAlive)
    }

    private func send(_ context: ChannelHandlerContext, _ all: [ByteBuffer], _ k: Int, delay: Int, gap: Int, keepAlive: Bool) {
        context.eventLoop.scheduleTask(in: .milliseconds(Int64(delay))) {
            guard context.channel.isActive else { return }
            context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(all[k]))), promise: nil)
            if k + 1 < all.count {
                self.send(context, all, k + 1, delay: gap, gap: gap, keepAlive: keepAlive)
            } else {
                self.end(context, keepAlive)
            }
        }
    }

    private func writeSimple(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ text: String, _ keepAlive: Bool) {
        var out = context.channel.allocator.buffer(capacity: text.utf8.count)
        out.writeString(text)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(out.readableBytes))
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(out))), promise: nil)
        end(context, keepAlive)
    }

    private func end(_ context: ChannelHandlerContext, _ keepAlive: Bool) {
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
        }
    }
}

// MARK: - main

let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(ChannelOptions.backlog, value: 1024)
    .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
    .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
    .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true).flatMap {
            channel.pipeline.addHandler(FakeProviderHandler())
        }
    }

let channel = try bootstrap.bind(host: host, port: port).wait()
print("listening on \(channel.localAddress!.port!)")
fflush(stdout)
try channel.closeFuture.wait()

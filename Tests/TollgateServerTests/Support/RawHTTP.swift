import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes raw bytes to 127.0.0.1:port and reads until the server closes, `timeout` passes or
/// `marker` arrives (then it hangs up):
/// for requests an HTTP client library refuses to send, or cuts short on purpose.
enum RawHTTP {
    static func exchange(port: Int, request: [UInt8], readTimeout: TimeInterval = 5, closeWhenSeen marker: String? = nil) async throws -> String {
        try await onOwnThread {
            let connection = try RawConnection(port: port)
            connection.send(request)  // the server may answer and close before reading everything
            var received: [UInt8] = []
            while case .data(let more) = connection.read(timeout: readTimeout) {
                received += more
                if let marker, String(decoding: received, as: UTF8.self).contains(marker) { break }
            }
            return String(decoding: received, as: UTF8.self)
        }
    }

    /// Runs blocking socket calls on a thread of their own, never on the shared concurrency pool
    /// (two cores give it two threads; blocking one starves the servers under test).
    static func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
            }
            thread.start()
        }
    }
}

/// A TCP listener on 127.0.0.1:0 that hands each connection's socket to `serve` on a thread of
/// its own: an upstream that misbehaves at the socket level (never reads, resets mid-answer).
final class RawUpstream: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var accepted = 0

    init(_ serve: @escaping @Sendable (Int32) -> Void) throws {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        listener = socketFD
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, length) == 0 && getsockname(socketFD, $0, &length) == 0 }
        }
        guard bound, listen(socketFD, 64) == 0 else { throw TestFailure("cannot listen on 127.0.0.1") }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in
            while true {
                let fd = accept(socketFD, nil, nil)
                if fd < 0 { return }  // closed by stop()
                lock.withLock { accepted += 1 }
                Thread { serve(fd) }.start()
            }
        }.start()
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var connections: Int { lock.withLock { accepted } }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// Reads from `fd` until a request head and `Content-Length` bytes of body have arrived.
    static func readRequest(_ fd: Int32) {
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return }
            received.append(contentsOf: buffer[0..<n])
            let text = String(decoding: received, as: UTF8.self)
            guard let end = text.range(of: "\r\n\r\n") else { continue }
            let head = text[..<end.lowerBound].lowercased()
            let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            if text.utf8.distance(from: end.upperBound.samePosition(in: text.utf8)!, to: text.utf8.endIndex) >= length { return }
        }
    }

    /// Reads one request (head and `Content-Length` body) and nothing after it; false when the
    /// connection closed first.
    static func readOneRequest(_ fd: Int32) -> Bool {
        var received = [UInt8]()
        var byte: UInt8 = 0
        while true {
            guard recv(fd, &byte, 1, 0) == 1 else { return false }
            received.append(byte)
            if received.count >= 4, received.suffix(4) == [13, 10, 13, 10] { break }
        }
        let head = String(decoding: received, as: UTF8.self).lowercased()
        let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        var body = [UInt8](repeating: 0, count: max(length, 1))
        var got = 0
        while got < length {
            let n = body[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, length - got, 0) }
            if n <= 0 { return false }
            got += n
        }
        return true
    }

    static func write(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Closes with a TCP reset (SO_LINGER 0) instead of a clean FIN.
    static func reset(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
    }
}

/// One client connection held open by hand: to dribble a request, or to watch whether the server
/// closes it. Blocking calls; use it from ``RawHTTP/onOwnThread(_:)``.
final class RawConnection: @unchecked Sendable {
    enum Read: Equatable { case data([UInt8]), closed, timedOut }
    private let fd: Int32

    /// `receiveBuffer` fixes the socket's receive buffer (the kernel otherwise grows it to tens of MB).
    init(port: Int, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw TestFailure("connect() failed") }
    }

    deinit { close(fd) }

    /// Closes the client's side: the server sees the client leave.
    func hangUp() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// Sends all of `bytes`; false once the server has closed the connection.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Everything that arrives within `timeout` seconds of quiet, or that the server closed.
    func read(timeout: Double) -> Read {
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        if n > 0 { return .data(Array(buffer[0..<n])) }
        return n == 0 || errno == ECONNRESET ? .closed : .timedOut
    }

    /// Reads until the server closes (true) or `timeout` seconds pass with no byte (false).
    func readUntilClosed(timeout: Double) -> (text: String, closed: Bool) {
        var bytes: [UInt8] = []
        while true {
            switch read(timeout: timeout) {
            case .data(let more): bytes += more
            case .closed: return (String(decoding: bytes, as: UTF8.self), true)
            case .timedOut: return (String(decoding: bytes, as: UTF8.self), false)
            }
        }
    }
}

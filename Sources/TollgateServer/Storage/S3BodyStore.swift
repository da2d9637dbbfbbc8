import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TollgateCore

/// Bodies in S3-compatible storage (AWS S3, MinIO, moto): one object per call,
/// `bodies/<id>.json`, holding the document `request_response_url` serves, which is then a
/// presigned S3 GET URL. Requests are signed with ``SigV4``.
final class S3BodyStore: Sendable {
    struct Settings: Sendable {
        var endpoint: Origin
        var bucket: String
        var region: String
        var credentials: AWSCredentials
        /// `endpoint/bucket/key` (MinIO, moto, most self-hosted) rather than `bucket.endpoint/key`.
        var pathStyle: Bool
    }

    let settings: Settings
    let signer: SigV4
    let client: HTTPClient

    init(_ settings: Settings) {
        self.settings = settings
        self.signer = SigV4(credentials: settings.credentials, region: settings.region)
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(30)), decompression: .disabled)
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    static func key(for id: UUID) -> String { "bodies/\(id.uuidString.lowercased()).json" }

    /// Host header and object path for `key` ("" for the bucket itself).
    func location(_ key: String) -> (host: String, path: String) {
        let port = settings.endpoint.port == (settings.endpoint.scheme == "https" ? 443 : 80) ? "" : ":\(settings.endpoint.port)"
        if settings.pathStyle {
            return (settings.endpoint.host + port, settings.endpoint.basePath + "/\(settings.bucket)" + (key.isEmpty ? "" : "/\(key)"))
        }
        return ("\(settings.bucket).\(settings.endpoint.host)\(port)", settings.endpoint.basePath + "/\(key)")
    }

    func send(_ method: HTTPMethod, key: String, body: [UInt8]? = nil, contentType: String? = nil) async throws -> (status: UInt, body: [UInt8]) {
        let (host, path) = location(key)
        var headers: [(String, String)] = [("host", host)]
        if let contentType { headers.append(("content-type", contentType)) }
        let signed = signer.signedHeaders(method: method.rawValue, host: host, path: path, headers: headers,
                                          payloadHash: body.map { SigV4.sha256Hex($0) } ?? SigV4.emptyPayloadHash, date: Date())
        var request = HTTPClientRequest(url: "\(settings.endpoint.scheme)://\(host)\(SigV4.canonicalURI(path))")
        request.method = method
        for (name, value) in headers + signed where name != "host" { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 256 << 20)
        return (response.status.code, Array(bytes.readableBytesView))
    }

    /// Fails with what to fix when the bucket cannot be reached, does not exist or refuses the credentials.
    func checkBucket() async throws {
        let where_ = "s3 bucket \(settings.bucket) at \(settings.endpoint.origin)"
        let answer: (status: UInt, body: [UInt8])
        do {
            answer = try await send(.HEAD, key: "")
        } catch {
            throw ConfigError("cannot reach the \(where_): \(error); check bodies.s3.endpoint")
        }
        switch answer.status {
        case 200..<300: return
        case 404: throw ConfigError("the \(where_) does not exist; create it or fix bodies.s3.bucket")
        case 301, 400: throw ConfigError("the \(where_) answered \(answer.status); check bodies.s3.region")
        default: throw ConfigError("the \(where_) refused the credentials (\(answer.status)); check bodies.s3.access_key_id / secret_access_key or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY")
        }
    }

    func put(_ document: [UInt8], for id: UUID) async throws {
        let answer = try await send(.PUT, key: Self.key(for: id), body: document, contentType: "application/json")
        guard (200..<300).contains(answer.status) else {
            throw ConfigError("S3 PUT \(Self.key(for: id)) answered \(answer.status): \(String(decoding: answer.body.prefix(300), as: UTF8.self))")
        }
    }

    func get(_ id: UUID) async throws -> [UInt8]? {
        let answer = try await send(.GET, key: Self.key(for: id))
        return (200..<300).contains(answer.status) ? answer.body : nil
    }

    /// A presigned GET of the call's document, valid `ttl` seconds.
    func presignedURL(for id: UUID, ttl: Int, now: Date = Date()) -> String {
        let (host, path) = location(Self.key(for: id))
        return signer.presignedURL(scheme: settings.endpoint.scheme, host: host, path: path, expires: ttl, date: now)
    }
}

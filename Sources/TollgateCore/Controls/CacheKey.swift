import Crypto
import Foundation

/// The response cache's key: the project, provider, method, path and body (and the seed), never
/// a credential. Hashed with SHA-256 over length-prefixed fields, so no two different calls share
/// a key by running one field into the next.
public enum CacheKey {
    /// The key as 64 hex digits. With `ignoreKeys`, a JSON object body is keyed without those
    /// top-level members (and written back in its own order, so only the named keys differ); any
    /// other body is keyed byte for byte.
    public static func make(project: String, provider: String, method: String, path: String, body: [UInt8], seed: String?, ignoreKeys: [String]) -> String {
        var hasher = SHA256()
        func field(_ bytes: some Collection<UInt8>) {
            var length = UInt64(bytes.count).bigEndian
            withUnsafeBytes(of: &length) { hasher.update(bufferPointer: $0) }
            hasher.update(data: Array(bytes))
        }
        field(Array("tollgate-cache-v1".utf8))
        field(Array(project.utf8))
        field(Array(provider.utf8))
        field(Array(method.uppercased().utf8))
        field(Array(keyedPath(path).utf8))
        field(Array((seed ?? "").utf8))
        field(keyedBody(body, ignoring: ignoreKeys))
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Query parameters that carry credentials (Gemini's `?key=`, Azure's `api-key`): left out of
    /// the key, so a cache entry never depends on, or hashes, a caller's secret.
    static let credentialParameters: Set<String> = ["key", "api_key", "api-key", "apikey", "access_token", "token", "sig", "signature"]

    /// A path and query as keyed: the query without credential parameters.
    public static func keyedPath(_ pathAndQuery: String) -> String {
        guard let mark = pathAndQuery.firstIndex(of: "?") else { return pathAndQuery }
        let kept = pathAndQuery[pathAndQuery.index(after: mark)...].split(separator: "&").filter { pair in
            let name = pair.prefix { $0 != "=" }
            return !credentialParameters.contains((name.removingPercentEncoding ?? String(name)).lowercased())
        }
        return String(pathAndQuery[..<mark]) + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&"))
    }

    static func keyedBody(_ body: [UInt8], ignoring keys: [String]) -> [UInt8] {
        guard !keys.isEmpty, let value = try? JSONParser.parse(body), let members = value.objectValue else { return body }
        let ignored = Set(keys)
        return JSONValue.object(members.filter { !ignored.contains($0.0) }).serialized()
    }
}

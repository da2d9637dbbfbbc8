import Foundation
import HTTPTypes
import Hummingbird
import TollgateCore

/// Whose data an admin key may see: every project (`admin.key`) or one (`admin.project_keys`).
enum AdminScope: Sendable, Equatable {
    case all
    case project(String)

    /// The project to filter by: nil for `.all` unless the caller asked for one.
    func project(requested: String?) -> String? {
        switch self {
        case .all: requested
        case .project(let p): p
        }
    }

    func allows(_ project: String) -> Bool {
        switch self {
        case .all: true
        case .project(let p): p == project
        }
    }
}

/// Maps `Authorization: Bearer <key>` to an ``AdminScope``.
struct AdminAuth: Sendable {
    let globalKey: String
    let projectKeys: [String: String]

    /// Every admin key: the global one and each project's.
    var keys: [String] { [globalKey] + projectKeys.keys }

    func scope(of request: Request) -> AdminScope? {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        return scope(ofKey: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
    }

    /// The scope an admin key opens, or nil for any other string.
    func scope(ofKey key: String) -> AdminScope? {
        if Self.constantTimeEqual(key, globalKey) { return .all }
        for (candidate, project) in projectKeys where Self.constantTimeEqual(key, candidate) { return .project(project) }
        return nil
    }

    /// The admin key that opens `scope` (the first, for a project with several).
    func key(of scope: AdminScope) -> String? {
        switch scope {
        case .all: globalKey
        case .project(let project): projectKeys.first { $0.value == project }?.key
        }
    }

    /// Runs `body` with the caller's scope, or answers 401.
    func guarded(_ request: Request, _ body: (AdminScope) async throws -> Response) async throws -> Response {
        guard let scope = scope(of: request) else {
            return Envelope.failure(.unauthorized, "Authorization: Bearer <admin key> required")
        }
        return try await body(scope)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        KeyScreen.constantTimeEqual(a.utf8, b.utf8)
    }
}

import Foundation
import Hummingbird
import TollgateCore

/// `DELETE /v1/cache?project=P`: forgets every answer the response cache holds for a project
/// (a project admin key purges its own), in the store and in this instance's memory; other
/// instances serve what they hold in memory for at most 30 s more. Admin key; Helicone's envelope.
struct CacheAPI: Sendable {
    let store: any ControlStore
    let front: CacheFront
    let auth: AdminAuth

    func register(on router: ManagementRouter) {
        router.delete("/v1/cache") { request, _ in
            try await self.auth.guarded(request) { scope in
                guard let project = scope.project(requested: request.uri.queryParameters.get("project")) else {
                    return Envelope.failure(.badRequest, "name the project whose cache to purge: DELETE /v1/cache?project=<project>")
                }
                let purged = try await self.store.purgeCache(project: project)
                self.front.purge(project: project)
                return Envelope.data(.object([("project", .string(project)), ("purged", .number(Double(purged)))]))
            }
        }
    }
}

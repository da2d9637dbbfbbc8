import HTTPTypes
import Hummingbird
import TollgateCore

/// The router of the gateway's own API. Registering a route here also claims its path in
/// ``ManagementPaths``, so what the gateway serves itself and what it never forwards to a
/// provider are decided in one place. A claimed path that is no route gets a JSON 404.
final class ManagementRouter: RouterMethods {
    typealias Context = BasicRequestContext

    let router = Router(context: BasicRequestContext.self)
    private(set) var paths = ManagementPaths()

    init() {
        router.add(middleware: NotFoundAsJSON())
    }

    @discardableResult
    func on<Responder: HTTPResponder>(_ path: RouterPath, method: HTTPRequest.Method, responder: Responder) -> Self where Responder.Context == Context {
        paths.claim(route: path.description)
        router.on(path, method: method, responder: responder)
        return self
    }

    @discardableResult
    func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self {
        router.add(middleware: middleware)
        return self
    }

    /// Answers the router's own "no such route" in Tollgate's error form instead of an empty 404.
    struct NotFoundAsJSON: RouterMiddleware {
        typealias Context = BasicRequestContext

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            do {
                return try await next(request, context)
            } catch let error as HTTPError where error.status == .notFound {
                let message = "no \(request.method.rawValue) \(request.uri.path.prefix(200)) in Tollgate's API (paths are case-sensitive)"
                return GatewayError.response(status: .notFound, type: "not_found", message: message, id: nil)
            }
        }
    }
}

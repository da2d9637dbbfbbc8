import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import TollgateCore

/// `GET /v1/requests/live` (admin key): the calls recorded from now on, as server-sent events
/// (``LiveEvents``), scoped like `GET /v1/requests` (a project's key sees its project; the global
/// key every project, or the one named by `project`). The dashboard's Live page reads the same
/// stream through its session (`/dashboard/live/events`).
struct LiveAPI: Sendable {
    let feed: LiveFeed
    let auth: AdminAuth
    /// How long a quiet stream waits before a heartbeat comment, so proxies keep it open.
    let heartbeat: Duration
    let metrics: GatewayMetrics?

    init(feed: LiveFeed, auth: AdminAuth, heartbeat: Duration = .seconds(15), metrics: GatewayMetrics? = nil) {
        self.feed = feed
        self.auth = auth
        self.heartbeat = heartbeat
        self.metrics = metrics
    }

    func register(on router: ManagementRouter) {
        router.get("/v1/requests/live") { request, _ in
            try await auth.guarded(request) { scope in
                var requested: String?
                for (name, value) in request.uri.queryParameters {
                    guard name == "project" else { return Envelope.failure(.badRequest, "unknown query parameter '\(name)'") }
                    requested = String(value)
                }
                return stream(project: scope.project(requested: requested))
            }
        }
    }

    /// The event stream of `project`'s calls (every project's when nil), ending at `until` if
    /// given (a dashboard session's expiry), when the client goes away, or when the gateway stops.
    /// 503 when `live.max_subscribers` streams are open.
    func stream(project: String?, until: Date? = nil) -> Response {
        guard feed.maxSubscribers > 0 else { return Envelope.failure(.notFound, "the live view is off (live.max_subscribers is 0)") }
        guard let subscription = feed.subscribe(project: project) else {
            return Envelope.failure(.serviceUnavailable, "the live view already has its \(feed.maxSubscribers) subscribers (live.max_subscribers); try again later")
        }
        // Ends the subscription when the body has been written, or when the response is dropped
        // without being written.
        let lease = Lease(feed: feed, subscription: subscription)
        let heartbeat = heartbeat, metrics = metrics
        return Response(status: .ok, headers: [
            .contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store",
            HTTPField.Name("X-Accel-Buffering")!: "no",  // nginx: pass each event on at once
        ], body: ResponseBody { writer in
            defer { lease.end() }
            try await withGracefulShutdownHandler {
                try await writer.write(ByteBuffer(bytes: LiveEvents.opening))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        while true {
                            try await Task.sleep(for: heartbeat)
                            if let until, Date() >= until {
                                subscription.end()
                                return
                            }
                            subscription.heartbeat()
                        }
                    }
                    streaming: while true {
                        switch await subscription.next() {
                        case .calls(let calls, let dropped):
                            if dropped > 0 { metrics?.liveEventsDropped(dropped) }
                            try await writer.write(ByteBuffer(bytes: LiveEvents.batch(calls, dropped: dropped)))
                        case .heartbeat:
                            try await writer.write(ByteBuffer(bytes: LiveEvents.heartbeat))
                        case .end:
                            break streaming
                        }
                    }
                    group.cancelAll()
                }
                try await writer.finish(nil)
            } onGracefulShutdown: {
                subscription.end()
            }
        })
    }

    /// Holds a subscription for one response; unsubscribes once, whichever comes first of the
    /// body's end and the response being let go.
    final class Lease: Sendable {
        let feed: LiveFeed
        let subscription: LiveSubscription

        init(feed: LiveFeed, subscription: LiveSubscription) {
            self.feed = feed
            self.subscription = subscription
        }

        func end() { feed.unsubscribe(subscription) }

        deinit { feed.unsubscribe(subscription) }
    }
}

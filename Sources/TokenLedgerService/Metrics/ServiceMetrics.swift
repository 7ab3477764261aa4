import CoreMetrics
import Foundation
import Synchronization

/// The service's own metrics, next to the library's (`tokenledger_records_total`, the spool
/// gauges, the Redis pool's timers): never a user id or a raw path as a label.
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `tokenledger_http_requests_total` | counter | `route` (the template, e.g. `/v1/users/{user}/usage`; `unmatched` for unknown paths), `method` (one of RFC 9110's methods, or `other`), `status` |
/// | `tokenledger_http_request_seconds` | timer (histogram) | `route`, `method`, `status` |
/// | `tokenledger_quota_decisions_total` | counter | `decision`: `allowed`, `denied` (checks and reservations) |
struct ServiceMetrics: Sendable {
    let factory: any MetricsFactory
    /// The request counter and timer of each route, method and status seen, made once: making
    /// them per request asked the registry for each by its labels every time.
    let requestMeters: RequestMeters

    init(factory: any MetricsFactory) {
        self.factory = factory
        self.requestMeters = RequestMeters(factory: factory)
    }

    /// Counts one answered request and its latency.
    func request(route: String, method: String, status: Int, duration: Duration) {
        let meters = requestMeters.meters(route: route, method: Self.methodLabel(method), status: status)
        meters.counter.increment()
        meters.timer.recordNanoseconds(Self.nanoseconds(duration))
    }

    /// Counts one quota decision.
    func decision(allowed: Bool) {
        Counter(
            label: "tokenledger_quota_decisions_total", dimensions: [("decision", allowed ? "allowed" : "denied")],
            factory: factory
        ).increment()
    }

    /// The standard methods (RFC 9110, and PATCH) are labels of their own.
    static let labeledMethods: Set<String> = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ]

    /// A request's method as a label: a client may send any token as a method, and each would
    /// otherwise be a new Prometheus series, so every other method is `other`.
    static func methodLabel(_ method: String) -> String {
        labeledMethods.contains(method) ? method : "other"
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// The request counter and timer per route, method and status, each made on first use.
///
/// Bounded: past ``capacity`` combinations (routes, methods and statuses are few, so in practice
/// never), a combination not seen yet gets fresh handles each time, as before this cache: the same
/// series, counted the same way.
final class RequestMeters: Sendable {
    /// The most combinations kept.
    static let capacity = 1024

    struct Key: Hashable, Sendable {
        var route: String
        var method: String
        var status: Int
    }

    struct Meters: Sendable {
        let counter: Counter
        let timer: CoreMetrics.Timer
    }

    let factory: any MetricsFactory
    private let cache = Mutex<[Key: Meters]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// The counter and timer of a route, method and status.
    func meters(route: String, method: String, status: Int) -> Meters {
        let key = Key(route: route, method: method, status: status)
        if let meters = cache.withLock({ $0[key] }) { return meters }
        let dimensions = [("route", route), ("method", method), ("status", String(status))]
        let meters = Meters(
            counter: Counter(label: "tokenledger_http_requests_total", dimensions: dimensions, factory: factory),
            timer: CoreMetrics.Timer(
                label: "tokenledger_http_request_seconds", dimensions: dimensions, factory: factory))
        cache.withLock { cache in
            if cache.count < Self.capacity { cache[key] = meters }
        }
        return meters
    }

    /// How many combinations are kept (for tests).
    var count: Int { cache.withLock { $0.count } }
}

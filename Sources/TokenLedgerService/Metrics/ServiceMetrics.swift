import CoreMetrics
import Foundation

/// The service's own metrics, next to the library's (`tokenledger_records_total`, the spool
/// gauges, the Redis pool's timers): never a user id or a raw path as a label.
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `tokenledger_http_requests_total` | counter | `route` (the template, e.g. `/v1/users/{user}/usage`; `unmatched` for unknown paths), `method`, `status` |
/// | `tokenledger_http_request_seconds` | timer (histogram) | `route`, `method`, `status` |
/// | `tokenledger_quota_decisions_total` | counter | `decision`: `allowed`, `denied` (checks and reservations) |
struct ServiceMetrics: Sendable {
    let factory: any MetricsFactory

    /// Counts one answered request and its latency.
    func request(route: String, method: String, status: Int, duration: Duration) {
        let dimensions = [("route", route), ("method", method), ("status", String(status))]
        Counter(label: "tokenledger_http_requests_total", dimensions: dimensions, factory: factory).increment()
        Timer(label: "tokenledger_http_request_seconds", dimensions: dimensions, factory: factory)
            .recordNanoseconds(Self.nanoseconds(duration))
    }

    /// Counts one quota decision.
    func decision(allowed: Bool) {
        Counter(
            label: "tokenledger_quota_decisions_total", dimensions: [("decision", allowed ? "allowed" : "denied")],
            factory: factory
        ).increment()
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

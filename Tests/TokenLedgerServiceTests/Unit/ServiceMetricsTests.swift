import RedisClient
import Testing

@testable import TokenLedgerService

/// The request metrics: one counter and timer per route, method and status, made once and counted
/// on every request. No server needed.
@Suite("Service request metrics")
struct ServiceMetricsTests {
    @Test("each request is counted and timed under its labels; the handles are made once per combination")
    func counted() {
        let factory = InProcessMetrics()
        let metrics = ServiceMetrics(factory: factory)
        for _ in 0..<3 {
            metrics.request(route: "/v1/usage", method: "POST", status: 200, duration: .microseconds(5))
        }
        metrics.request(route: "/v1/usage", method: "POST", status: 400, duration: .microseconds(5))
        metrics.request(route: "unmatched", method: "GET", status: 404, duration: .zero)
        let labels = [("route", "/v1/usage"), ("method", "POST"), ("status", "200")]
        let snapshot = factory.snapshot
        #expect(snapshot.counter("tokenledger_http_requests_total", labels) == 3)
        #expect(snapshot.timings[.init("tokenledger_http_request_seconds", labels)] == 3)
        #expect(
            snapshot.counter(
                "tokenledger_http_requests_total", [("route", "/v1/usage"), ("method", "POST"), ("status", "400")]) == 1
        )
        #expect(
            snapshot.counter(
                "tokenledger_http_requests_total", [("route", "unmatched"), ("method", "GET"), ("status", "404")])
                == 1)
        #expect(metrics.requestMeters.count == 3)
    }

    @Test("past the cache's capacity, new combinations are still counted, each under its own labels")
    func pastCapacity() {
        let factory = InProcessMetrics()
        let metrics = ServiceMetrics(factory: factory)
        let extra = 5
        for index in 0..<(RequestMeters.capacity + extra) {
            metrics.request(route: "/r\(index)", method: "GET", status: 404, duration: .zero)
        }
        metrics.request(route: "/r\(RequestMeters.capacity + 1)", method: "GET", status: 404, duration: .zero)
        #expect(metrics.requestMeters.count == RequestMeters.capacity)
        let last = [("route", "/r\(RequestMeters.capacity + 1)"), ("method", "GET"), ("status", "404")]
        #expect(factory.snapshot.counter("tokenledger_http_requests_total", last) == 2)
    }

    @Test("a method outside RFC 9110's set is counted as other: a client cannot make new series with made-up methods")
    func unusualMethods() {
        let factory = InProcessMetrics()
        let metrics = ServiceMetrics(factory: factory)
        for index in 0..<50 {
            metrics.request(route: "unmatched", method: "MADEUP\(index)", status: 404, duration: .zero)
        }
        metrics.request(route: "unmatched", method: "PATCH", status: 404, duration: .zero)
        let snapshot = factory.snapshot
        #expect(
            snapshot.counter(
                "tokenledger_http_requests_total", [("route", "unmatched"), ("method", "other"), ("status", "404")])
                == 50)
        #expect(
            snapshot.counter(
                "tokenledger_http_requests_total", [("route", "unmatched"), ("method", "PATCH"), ("status", "404")])
                == 1)
        #expect(metrics.requestMeters.count == 2)
    }
}

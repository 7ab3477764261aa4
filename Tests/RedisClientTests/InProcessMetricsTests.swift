import CoreMetrics
import RedisClient
import Testing

/// Unit tests (no server): the in-process reader of the library's metrics.
@Suite("In-process metrics")
struct InProcessMetricsTests {
    @Test("counters add up by label and dimensions (in any order), gauges and meters keep their last value, timers count")
    func figures() {
        let metrics = InProcessMetrics()
        let applied = Counter(label: "t_total", dimensions: [("a", "1"), ("b", "2")], factory: metrics)
        applied.increment()
        // Another handle of the same metric, its dimensions in another order, adds to the same figure.
        Counter(label: "t_total", dimensions: [("b", "2"), ("a", "1")], factory: metrics).increment(by: 4)
        Counter(label: "t_total", factory: metrics).increment()
        let gauge = Gauge(label: "t_gauge", factory: metrics)
        gauge.record(3)
        gauge.record(2)
        let meter = Meter(label: "t_meter", factory: metrics)
        meter.increment()
        meter.increment()
        meter.decrement()
        CoreMetrics.Timer(label: "t_seconds", factory: metrics).recordNanoseconds(10)

        let snapshot = metrics.snapshot
        #expect(snapshot.counter("t_total", [("a", "1"), ("b", "2")]) == 5)
        #expect(snapshot.counter("t_total") == 1)
        #expect(snapshot.counter("never_total") == 0)
        #expect(snapshot.gauge("t_gauge") == 2)
        #expect(snapshot.gauge("t_meter") == 1)
        #expect(snapshot.gauge("never") == nil)
        #expect(snapshot.timings[InProcessMetrics.Key("t_seconds")] == 1)
        #expect(InProcessMetrics.Key("t_total", [("b", "2"), ("a", "1")]).description == "t_total{a=1,b=2}")
    }
}

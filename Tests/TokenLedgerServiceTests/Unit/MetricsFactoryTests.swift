import CoreMetrics
import Prometheus
import Testing

@testable import TokenLedgerService

@Suite("Service metrics factory")
struct MetricsFactoryTests {
    @Test("a metric made without dimensions and then with a node dimension (a Redis Cluster's pools) share one family")
    func unlabeledThenLabeled() throws {
        let registry = PrometheusCollectorRegistry()
        let factory = TokenLedgerServer.metricsFactory(for: registry)
        Gauge(label: "tokenledger_redis_pool_waiting", factory: factory).record(1)
        Gauge(label: "tokenledger_redis_pool_waiting", dimensions: [("node", "127.0.0.1:7000")], factory: factory)
            .record(2)
        Timer(label: "tokenledger_redis_pool_wait_seconds", factory: factory).recordNanoseconds(1000)
        Timer(label: "tokenledger_redis_pool_wait_seconds", dimensions: [("node", "n")], factory: factory)
            .recordNanoseconds(1000)
        let samples = try PrometheusText.parse(registry.emitToString()).get()
        let waiting = samples.filter { $0.name == "tokenledger_redis_pool_waiting" }
        #expect(waiting.count == 2)
        #expect(waiting.contains { $0.labels == ["scope": "process"] && $0.value == 1 })
        #expect(waiting.contains { $0.labels == ["node": "127.0.0.1:7000"] && $0.value == 2 })
        #expect(samples.filter { $0.name == "tokenledger_redis_pool_wait_seconds_count" }.count == 2)
    }
}

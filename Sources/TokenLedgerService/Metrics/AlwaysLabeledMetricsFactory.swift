import CoreMetrics
import Prometheus

/// A metrics factory that gives every metric at least one label (`scope="process"` when it is made
/// without dimensions) and hands it to a Prometheus factory.
///
/// swift-prometheus refuses (with a fatal error) a metric family that has both unlabeled and labeled
/// series. The Redis client makes some metrics without dimensions on a standalone server and with a
/// `node` dimension on each node of a Redis Cluster (its seed pool stays unlabeled), so without
/// this the service would stop on a cluster at its first per-node metric.
struct AlwaysLabeledMetricsFactory: MetricsFactory {
    let base: PrometheusMetricsFactory

    /// The label a metric without dimensions gets.
    static let defaultDimensions = [("scope", "process")]

    func labeled(_ dimensions: [(String, String)]) -> [(String, String)] {
        dimensions.isEmpty ? Self.defaultDimensions : dimensions
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        base.makeCounter(label: label, dimensions: labeled(dimensions))
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        base.makeFloatingPointCounter(label: label, dimensions: labeled(dimensions))
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        base.makeMeter(label: label, dimensions: labeled(dimensions))
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        base.makeRecorder(label: label, dimensions: labeled(dimensions), aggregate: aggregate)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        base.makeTimer(label: label, dimensions: labeled(dimensions))
    }

    func destroyCounter(_ handler: any CounterHandler) { base.destroyCounter(handler) }
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        base.destroyFloatingPointCounter(handler)
    }
    func destroyMeter(_ handler: any MeterHandler) { base.destroyMeter(handler) }
    func destroyRecorder(_ handler: any RecorderHandler) { base.destroyRecorder(handler) }
    func destroyTimer(_ handler: any TimerHandler) { base.destroyTimer(handler) }
}

extension TokenLedgerServer {
    /// The metrics factory over `registry` that the service uses (and that `serve` bootstraps
    /// `MetricsSystem` with): Prometheus, with every metric labeled (`scope="process"` for those
    /// made without dimensions), so per-node metrics on a Redis Cluster can join their family.
    public static func metricsFactory(for registry: PrometheusCollectorRegistry) -> any MetricsFactory {
        AlwaysLabeledMetricsFactory(base: PrometheusMetricsFactory(registry: registry))
    }
}

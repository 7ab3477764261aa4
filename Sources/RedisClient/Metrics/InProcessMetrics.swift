import CoreMetrics
import Synchronization

/// A swift-metrics backend that keeps every figure in memory, for a process that reads its own
/// metrics (a CLI's summary, a benchmark's log line) without bootstrapping a metrics system.
///
/// Metrics are the one surface for every figure the library keeps (see the metrics table in
/// docs/operations.md): pass an instance wherever a `metrics:` factory is taken, then read
/// ``snapshot``. Metrics of the same label and dimensions add up (counters), or keep their last
/// value (gauges, meters), whichever component made them.
///
/// ### Threading
/// `Sendable`; every update takes one lock.
public final class InProcessMetrics: MetricsFactory, Sendable {
    /// The figures at one moment, keyed by label and dimensions.
    public struct Snapshot: Sendable, Hashable {
        /// Counter totals.
        public var counters: [Key: Int64] = [:]
        /// The last value each gauge, recorder or meter took.
        public var gauges: [Key: Double] = [:]
        /// How many durations each timer recorded.
        public var timings: [Key: Int] = [:]

        /// Creates an empty snapshot.
        public init() {}

        /// The total of counter `label` with `dimensions` (in any order); 0 when nothing counted.
        public func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Int64 {
            counters[Key(label, dimensions)] ?? 0
        }

        /// The last value of gauge (or meter) `label` with `dimensions`; `nil` when never set.
        public func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> Double? {
            gauges[Key(label, dimensions)]
        }
    }

    /// A metric's label and its dimensions, sorted by name.
    public struct Key: Sendable, Hashable, CustomStringConvertible {
        /// The metric's label.
        public var label: String
        /// The dimensions, sorted by name.
        public var dimensions: [String]

        /// Creates a key; the order of `dimensions` does not matter.
        public init(_ label: String, _ dimensions: [(String, String)] = []) {
            self.label = label
            self.dimensions = dimensions.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }
        }

        /// `label{name=value,…}`, as Prometheus writes it (without quotes).
        public var description: String {
            dimensions.isEmpty ? label : "\(label){\(dimensions.joined(separator: ","))}"
        }
    }

    private let figures = Mutex(Snapshot())

    /// Creates an empty collection.
    public init() {}

    /// Every figure now.
    public var snapshot: Snapshot { figures.withLock { $0 } }

    fileprivate func update(_ body: (inout Snapshot) -> Void) { figures.withLock { body(&$0) } }

    /// Makes a counter (see `MetricsFactory`).
    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        Handler(self, Key(label, dimensions))
    }

    /// Makes a gauge or recorder; its last value is kept (see `MetricsFactory`).
    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        Handler(self, Key(label, dimensions))
    }

    /// Makes a meter; its value is kept as a gauge's (see `MetricsFactory`).
    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        Handler(self, Key(label, dimensions))
    }

    /// Makes a timer; the durations it records are counted (see `MetricsFactory`).
    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        Handler(self, Key(label, dimensions))
    }

    /// Keeps the figures of a destroyed counter (see `MetricsFactory`).
    public func destroyCounter(_ handler: any CounterHandler) {}
    /// Keeps the figures of a destroyed recorder (see `MetricsFactory`).
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    /// Keeps the figures of a destroyed meter (see `MetricsFactory`).
    public func destroyMeter(_ handler: any MeterHandler) {}
    /// Keeps the figures of a destroyed timer (see `MetricsFactory`).
    public func destroyTimer(_ handler: any TimerHandler) {}
}

/// One metric of an ``InProcessMetrics``, whatever its kind.
private final class Handler: CounterHandler, RecorderHandler, MeterHandler, TimerHandler, Sendable {
    private let metrics: InProcessMetrics
    private let key: InProcessMetrics.Key

    init(_ metrics: InProcessMetrics, _ key: InProcessMetrics.Key) {
        self.metrics = metrics
        self.key = key
    }

    func increment(by amount: Int64) { metrics.update { $0.counters[key, default: 0] += amount } }
    func reset() { metrics.update { $0.counters[key] = 0 } }
    func record(_ value: Int64) { set(Double(value)) }
    func record(_ value: Double) { set(value) }
    func set(_ value: Int64) { set(Double(value)) }
    func set(_ value: Double) { metrics.update { $0.gauges[key] = value } }
    func increment(by amount: Double) { metrics.update { $0.gauges[key, default: 0] += amount } }
    func decrement(by amount: Double) { metrics.update { $0.gauges[key, default: 0] -= amount } }
    func recordNanoseconds(_ duration: Int64) { metrics.update { $0.timings[key, default: 0] += 1 } }
}

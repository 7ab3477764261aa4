import CoreMetrics

/// TokenLedger's metrics through swift-metrics, all named `tokenledger_…`, never with user ids.
///
/// | metric | kind | dimensions |
/// |---|---|---|
/// | `tokenledger_records_total` | counter | `result`: applied, duplicate, spooled, replayed, rejected, failed |
/// | `tokenledger_quota_decisions_total` | counter | `decision`: allowed, denied, fail_open, fail_closed |
/// | `tokenledger_redis_errors_total` | counter | `code`: the `RedisError` code |
/// | `tokenledger_history_adjustments_total` | counter | — (late calls added to a closed cycle's history; counted by ``TokenRepository``) |
/// | `tokenledger_spool_events` | gauge | — (events waiting: after a replay, and at most once a second while events spool) |
/// | `tokenledger_spool_bytes` | gauge | — |
/// | `tokenledger_record_seconds` | timer | — (an awaited record or settle, from the call to its outcome; ``UsageRecorder``) |
///
/// The Redis client adds `tokenledger_redis_round_trip_seconds` (timer, `path`: `pool`, `pipeline`),
/// `tokenledger_redis_pool_wait_seconds` (timer), `tokenledger_redis_pool_connections` (gauge,
/// `state`: `open`, `idle`) and `tokenledger_redis_pool_waiting` (gauge); pass the same factory to
/// ``RedisClient/RedisConnectionPool`` to collect them in one place.
public struct LedgerMetrics: Sendable {
    let factory: any MetricsFactory
    private let records: [String: Counter]
    private let decisions: [String: Counter]

    /// Metrics through `factory` (default: the process's bootstrapped `MetricsSystem`).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        // Created once: recording touches a counter on every event.
        var records: [String: Counter] = [:]
        for result in ["applied", "duplicate", "spooled", "replayed", "rejected", "failed"] {
            records[result] = Counter(label: "tokenledger_records_total", dimensions: [("result", result)], factory: factory)
        }
        var decisions: [String: Counter] = [:]
        for decision in ["allowed", "denied", "fail_open", "fail_closed"] {
            decisions[decision] = Counter(
                label: "tokenledger_quota_decisions_total", dimensions: [("decision", decision)], factory: factory)
        }
        self.records = records
        self.decisions = decisions
    }

    func record(_ result: String) {
        records[result]?.increment()
    }

    func historyAdjustment() {
        Counter(label: "tokenledger_history_adjustments_total", factory: factory).increment()
    }

    func quota(_ decision: String) {
        decisions[decision]?.increment()
    }

    func redisError(_ error: any Error) {
        guard let error = error as? RedisErrorCodeProviding else { return }
        Counter(label: "tokenledger_redis_errors_total", dimensions: [("code", error.metricCode)], factory: factory)
            .increment()
    }

    func spool(events: Int, bytes: Int) {
        Gauge(label: "tokenledger_spool_events", factory: factory).record(events)
        Gauge(label: "tokenledger_spool_bytes", factory: factory).record(bytes)
    }
}

import RedisClient

/// Errors that name a Redis failure code for metrics.
protocol RedisErrorCodeProviding { var metricCode: String { get } }

extension RedisError: RedisErrorCodeProviding {
    var metricCode: String { code.name }
}

import CoreMetrics
import RedisClient

/// TokenLedger's metrics through swift-metrics, all named `tokenledger_…`, never with user ids.
///
/// | metric | kind | dimensions |
/// |---|---|---|
/// | `tokenledger_records_total` | counter | `result`: applied, duplicate, conflict, spooled, replayed, rejected, failed, parked (conflict: a reused call id with another total, ``CallConflict``; parked: ``ParkedWrite``) |
/// | `tokenledger_parked_events_total` | counter | — (events parked because their cycle's call ids were dropped after the dedupe window, ``ParkedEvents``) |
/// | `tokenledger_quota_decisions_total` | counter | `decision`: allowed, denied, fail_open, fail_closed |
/// | `tokenledger_redis_errors_total` | counter | `code`: the `RedisError` code |
/// | `tokenledger_history_adjustments_total` | counter | — (late calls added to a closed cycle's history; counted by ``TokenRepository``) |
/// | `tokenledger_index_writes_total` | counter | — (users added to a cycle's derived index by a record: at most once per user and cycle; ``TokenRepository``) |
/// | `tokenledger_records_unreplicated_total` | counter | — (records and settles applied but acknowledged by fewer replicas than `TOKENLEDGER_WAIT_REPLICAS` in time: spooled too, or failed without a spool; replays that stay spooled) |
/// | `tokenledger_spool_events` | gauge | — (events waiting: after a replay, and at most once a second while events spool) |
/// | `tokenledger_spool_bytes` | gauge | — |
/// | `tokenledger_record_seconds` | timer | — (an awaited record or settle, from the call to its outcome; ``UsageRecorder``) |
/// | `tokenledger_handler_calls_total` | counter | `result`: recorded, duplicate, spooled, queued, failed, error (what the callback handlers did with each call) |
/// | `tokenledger_handler_estimated_total` | counter | — (calls a handler recorded with estimated counts) |
/// | `tokenledger_handler_calls_in_flight` | meter | — (calls a ``DetailedRedisTokenCallbackHandler`` keeps state for) |
///
/// The Redis client adds `tokenledger_redis_round_trip_seconds` (timer, `path`: `pool`, `pipeline`),
/// `tokenledger_redis_pool_wait_seconds` (timer), `tokenledger_redis_pool_connections` (gauge,
/// `state`: `open`, `idle`), `tokenledger_redis_pool_waiting` (gauge),
/// `tokenledger_redis_inline_replies_total` (counter, `outcome`: `answered`, `handed_over`) and
/// `tokenledger_redis_pipeline_batches_total` / `tokenledger_redis_pipeline_commands_total`
/// (counters); pass the same factory to `RedisConnectionPool` to collect them in one
/// place. These metrics are the library's one statistics surface: to read them in-process, pass an
/// `InProcessMetrics`.
public struct LedgerMetrics: Sendable {
    let factory: any MetricsFactory
    private let records: [String: Counter]
    private let decisions: [String: Counter]
    private let handlerCalls: [String: Counter]
    private let handlerEstimated: Counter
    private let handlerInFlight: Meter

    /// Metrics through `factory` (default: the process's bootstrapped `MetricsSystem`).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        // Created once: recording touches a counter on every event.
        var records: [String: Counter] = [:]
        for result in ["applied", "duplicate", "conflict", "spooled", "replayed", "rejected", "failed", "parked"] {
            records[result] = Counter(
                label: "tokenledger_records_total", dimensions: [("result", result)], factory: factory)
        }
        var decisions: [String: Counter] = [:]
        for decision in ["allowed", "denied", "fail_open", "fail_closed"] {
            decisions[decision] = Counter(
                label: "tokenledger_quota_decisions_total", dimensions: [("decision", decision)], factory: factory)
        }
        var handlerCalls: [String: Counter] = [:]
        for result in ["recorded", "duplicate", "spooled", "queued", "failed", "error"] {
            handlerCalls[result] = Counter(
                label: "tokenledger_handler_calls_total", dimensions: [("result", result)], factory: factory)
        }
        self.records = records
        self.decisions = decisions
        self.handlerCalls = handlerCalls
        self.handlerEstimated = Counter(label: "tokenledger_handler_estimated_total", factory: factory)
        self.handlerInFlight = Meter(label: "tokenledger_handler_calls_in_flight", factory: factory)
    }

    func record(_ result: String) {
        records[result]?.increment()
    }

    /// Counts what a callback handler did with a call (`result`: see the table).
    func handlerCall(_ result: String, estimated: Bool = false) {
        handlerCalls[result]?.increment()
        if estimated { handlerEstimated.increment() }
    }

    /// Counts a call a handler starts keeping state for.
    func handlerCallStarted() { handlerInFlight.increment() }

    /// Counts a call a handler stops keeping state for.
    func handlerCallEnded() { handlerInFlight.decrement() }

    func historyAdjustment() {
        Counter(label: "tokenledger_history_adjustments_total", factory: factory).increment()
    }

    /// An event priced as unpriced: its model has no price (`tokenledger_unpriced_calls_total`).
    func unpricedCall() {
        Counter(label: "tokenledger_unpriced_calls_total", factory: factory).increment()
    }

    /// Counts one write of a user into a cycle's derived index by the record path.
    func indexWrite() {
        Counter(label: "tokenledger_index_writes_total", factory: factory).increment()
    }

    /// Counts an event parked (``ParkedWrite``): `tokenledger_parked_events_total` and the `parked` result.
    func parked() {
        records["parked"]?.increment()
        Counter(label: "tokenledger_parked_events_total", factory: factory).increment()
    }

    /// Counts a write applied but not acknowledged by enough replicas.
    func unreplicated() {
        Counter(label: "tokenledger_records_unreplicated_total", factory: factory).increment()
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

/// Errors that name a Redis failure code for metrics.
protocol RedisErrorCodeProviding { var metricCode: String { get } }

extension RedisError: RedisErrorCodeProviding {
    var metricCode: String { code.name }
}

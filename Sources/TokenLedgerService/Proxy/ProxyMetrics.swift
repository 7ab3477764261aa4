import CoreMetrics
import Synchronization

/// The proxy's metrics: never a user id, a key or a raw path as a label.
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `tokenledger_proxy_calls_total` | counter | `route` (`chat_completions`, `responses`, `embeddings`, `messages`), `provider`, `model`, `outcome` |
/// | `tokenledger_proxy_tokens_total` | counter | `route`, `provider`, `model`, `kind` (`input`, `output`): settled tokens |
/// | `tokenledger_proxy_upstream_seconds` | timer | `provider`: until the provider's response head |
///
/// Outcomes: `settled` (the provider's usage), `estimated` (settled from the proxy's own count:
/// the stream ended or the client left before the usage), `released` (the provider answered an
/// error and billed nothing), `denied` (quota, upstream not called), `unavailable` (Redis down,
/// fail-closed), `unreachable` (the provider could not be reached or timed out), `bad_request`.
///
/// The model label is the requested model when it is a plain name (letters, digits, `.-_:/@`, at
/// most 64 bytes) and one of the first ``modelCapacity`` distinct ones; any other is `other`, so a
/// client cannot grow the series without bound.
final class ProxyMetrics: Sendable {
    /// The most distinct model labels.
    static let modelCapacity = 100

    let factory: any MetricsFactory
    private let models = Mutex<Set<String>>([])
    private let counters = Mutex<[Series: Counter]>([:])
    private let upstreamTimers = Mutex<[ProxyProvider: CoreMetrics.Timer]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// What became of one proxied call.
    enum Outcome: String, Sendable {
        case settled, estimated, released, denied, unavailable, unreachable
        case badRequest = "bad_request"
    }

    /// Counts one call's outcome.
    func call(_ endpoint: ProxyEndpoint, model: String, outcome: Outcome) {
        counter(Series(name: .calls, route: endpoint, model: modelLabel(model), value: outcome.rawValue)).increment()
    }

    /// Counts the tokens a call settled.
    func tokens(_ endpoint: ProxyEndpoint, model: String, input: Int, output: Int) {
        let label = modelLabel(model)
        for (kind, count) in [("input", input), ("output", output)] where count > 0 {
            counter(Series(name: .tokens, route: endpoint, model: label, value: kind)).increment(by: count)
        }
    }

    /// Records how long the provider took to answer with its head.
    func upstreamLatency(provider: ProxyProvider, duration: Duration) {
        let timer = upstreamTimers.withLock { timers in
            if let made = timers[provider] { return made }
            let made = CoreMetrics.Timer(
                label: "tokenledger_proxy_upstream_seconds", dimensions: [("provider", provider.rawValue)],
                factory: factory)
            timers[provider] = made
            return made
        }
        timer.recordNanoseconds(ServiceMetrics.nanoseconds(duration))
    }

    /// One labeled series of the two counters.
    struct Series: Hashable, Sendable {
        enum Name: String, Sendable {
            case calls = "tokenledger_proxy_calls_total"
            case tokens = "tokenledger_proxy_tokens_total"
        }
        var name: Name
        var route: ProxyEndpoint
        var model: String
        /// The outcome (calls) or the kind (tokens).
        var value: String
    }

    /// A series' counter, made once and kept: making a labeled metric asks the Prometheus
    /// registry under its lock and builds the label set each time, work a proxied call need not
    /// repeat. Bounded as the model labels are: 4 routes × 101 models × 7 outcomes or 2 kinds.
    func counter(_ series: Series) -> Counter {
        counters.withLock { counters in
            if let made = counters[series] { return made }
            let made = Counter(
                label: series.name.rawValue,
                dimensions: [
                    ("route", series.route.rawValue), ("provider", series.route.providerName),
                    ("model", series.model), (series.name == .calls ? "outcome" : "kind", series.value),
                ],
                factory: factory)
            counters[series] = made
            return made
        }
    }

    /// The label of a model name (see the type's note).
    func modelLabel(_ model: String) -> String {
        guard !model.isEmpty, model.utf8.count <= 64, model.unicodeScalars.allSatisfy(Self.isPlain) else {
            return "other"
        }
        return models.withLock { seen in
            if seen.contains(model) { return model }
            guard seen.count < Self.modelCapacity else { return "other" }
            seen.insert(model)
            return model
        }
    }

    static func isPlain(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", ".", "-", "_", ":", "/", "@": true
        default: false
        }
    }
}

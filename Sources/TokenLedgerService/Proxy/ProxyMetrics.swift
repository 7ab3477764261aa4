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
        Counter(
            label: "tokenledger_proxy_calls_total",
            dimensions: [
                ("route", endpoint.rawValue), ("provider", endpoint.providerName), ("model", modelLabel(model)),
                ("outcome", outcome.rawValue),
            ],
            factory: factory
        ).increment()
    }

    /// Counts the tokens a call settled.
    func tokens(_ endpoint: ProxyEndpoint, model: String, input: Int, output: Int) {
        let label = modelLabel(model)
        for (kind, count) in [("input", input), ("output", output)] where count > 0 {
            Counter(
                label: "tokenledger_proxy_tokens_total",
                dimensions: [
                    ("route", endpoint.rawValue), ("provider", endpoint.providerName), ("model", label),
                    ("kind", kind),
                ],
                factory: factory
            ).increment(by: count)
        }
    }

    /// Records how long the provider took to answer with its head.
    func upstreamLatency(provider: ProxyProvider, duration: Duration) {
        CoreMetrics.Timer(
            label: "tokenledger_proxy_upstream_seconds", dimensions: [("provider", provider.rawValue)],
            factory: factory
        ).recordNanoseconds(ServiceMetrics.nanoseconds(duration))
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

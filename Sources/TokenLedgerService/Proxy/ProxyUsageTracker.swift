import Foundation
import TokenLedger

/// Follows one provider response as it passes through the proxy and tells what to settle: the
/// provider's usage when it came, else an estimate from the prompt count and the text streamed.
///
/// Only what the usage needs is kept: the stream events that carry usage (OpenAI's usage chunk,
/// Anthropic's `message_start` and `message_delta`, the Responses API's terminal event), a running
/// token count of the streamed text, and a non-stream body up to ``maximumBodyBytes``.
struct ProxyUsageTracker {
    /// The most bytes of a non-stream body kept to read its usage: 16 MiB (a larger body is
    /// settled as an estimate).
    static let maximumBodyBytes = 16 << 20
    /// The bound of a token count (SPEC: 0…10^12).
    static let maximumTokens = 1_000_000_000_000

    let endpoint: ProxyEndpoint
    let estimator: any TokenEstimator
    /// The events that carry usage, in order.
    private(set) var usageEvents: [JSONValue] = []
    /// Whether the event that ends the usage (the last one the provider sends) was seen.
    private(set) var sawFinalUsage = false
    /// Tokens of the text streamed so far, as counted here.
    private(set) var streamedTokens = 0
    /// A non-stream body, while it is within ``maximumBodyBytes``.
    private var body: [UInt8] = []
    private var bodyTooLarge = false

    init(endpoint: ProxyEndpoint, estimator: any TokenEstimator) {
        self.endpoint = endpoint
        self.estimator = estimator
    }

    /// Looks at one stream event; returns whether the client sees it (false only for the usage
    /// chunk the proxy asked for on the client's behalf).
    mutating func observe(_ event: SSEEvent, hidingUsageChunk: Bool) -> Bool {
        guard let json = event.json, let object = json.objectValue else { return true }
        switch endpoint {
        case .chatCompletions, .embeddings:
            if let usage = object["usage"], usage.objectValue != nil {
                usageEvents = [json]
                sawFinalUsage = true
                if hidingUsageChunk, object["choices"]?.arrayValue?.isEmpty ?? true { return false }
            }
            for choice in object["choices"]?.arrayValue ?? [] {
                guard let delta = choice["delta"] else { continue }
                count(delta["content"])
                count(delta["reasoning_content"])
                count(delta["refusal"])
                for call in delta["tool_calls"]?.arrayValue ?? [] { count(call["function"]?["arguments"]) }
            }
        case .responses:
            let type = object["type"]?.stringValue ?? event.name ?? ""
            if ["response.completed", "response.incomplete", "response.failed"].contains(type) {
                usageEvents = [json]
                sawFinalUsage = true
            } else if type.hasSuffix(".delta") {
                count(object["delta"])
            }
        case .messages:
            switch object["type"]?.stringValue ?? event.name ?? "" {
            case "message_start":
                usageEvents.append(json)
            case "message_delta":
                usageEvents.append(json)
                sawFinalUsage = true
            case "content_block_delta":
                let delta = object["delta"]
                count(delta?["text"])
                count(delta?["thinking"])
                count(delta?["partial_json"])
            default:
                break
            }
        }
        return true
    }

    /// Keeps a piece of a non-stream body (up to ``maximumBodyBytes``).
    mutating func observeBody(_ bytes: some Collection<UInt8>) {
        guard !bodyTooLarge else { return }
        if body.count + bytes.count > Self.maximumBodyBytes {
            bodyTooLarge = true
            body = []
        } else {
            body.append(contentsOf: bytes)
        }
    }

    private mutating func count(_ value: JSONValue?) {
        guard let text = value?.stringValue, !text.isEmpty else { return }
        streamedTokens = Validation.saturatingSum(streamedTokens, estimator.countTokens(in: text))
    }

    /// The usage to settle, and the model the provider named (if it did).
    ///
    /// - Parameters:
    ///   - stream: Whether the response was an event stream (else the kept body is read).
    ///   - promptTokens: The proxy's count of the prompt, for an estimate.
    /// - Returns: The provider's usage (source `reported`) when it was complete; else an estimate
    ///   (source `estimated`): the provider's input count if it gave one, else `promptTokens`, and
    ///   the larger of its output count and the streamed text's tokens.
    func usage(stream: Bool, promptTokens: Int) -> (record: UsageRecord, model: String?) {
        var extracted: ExtractedUsage?
        if stream {
            if !usageEvents.isEmpty {
                extracted = try? UsageExtractor.extractUsage(from: .array(usageEvents), provider: endpoint.usageShape)
            }
        } else if !bodyTooLarge, !body.isEmpty {
            extracted = try? UsageExtractor.extractUsage(from: Data(body), provider: endpoint.usageShape)
        }
        if let extracted, stream ? sawFinalUsage : true, let record = extracted.record {
            return (record, extracted.model)
        }
        let input = extracted?.inputTokens ?? promptTokens
        let output = max(extracted?.outputTokens ?? 0, streamedTokens)
        return (
            UsageRecord(
                inputTokens: min(input, Self.maximumTokens), outputTokens: min(output, Self.maximumTokens),
                source: .estimated),
            extracted?.model
        )
    }

    /// The usage the provider reported in an error answer (what it billed), or `nil`.
    static func billedUsage(inErrorBody body: [UInt8], endpoint: ProxyEndpoint) -> UsageRecord? {
        guard let extracted = try? UsageExtractor.extractUsage(from: Data(body), provider: endpoint.usageShape),
            let record = extracted.record, record.totalTokens > 0
        else { return nil }
        return record
    }
}

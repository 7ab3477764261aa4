import Foundation

/// What an LLM call returned, as far as usage is concerned. Give whatever you have: a normalized
/// record, the provider's raw response (JSON, stream events or SSE), a total only, or just the text.
public struct LLMResponse: Sendable, Hashable {
    /// Usage already normalized by the caller.
    public var usage: UsageRecord?
    /// The provider's raw response body, read with ``UsageExtractor``.
    public var raw: Data?
    /// A total with no split (the seed's `tokens_used`).
    public var totalTokens: Int?
    /// The completion text, used to estimate output when nothing else is reported.
    public var text: String?

    /// Creates a response description.
    public init(usage: UsageRecord? = nil, raw: Data? = nil, totalTokens: Int? = nil, text: String? = nil) {
        self.usage = usage
        self.raw = raw
        self.totalTokens = totalTokens
        self.text = text
    }
}

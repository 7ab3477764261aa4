/// One call's token usage, normalized across providers.
///
/// Subsets are counted inside their parent: ``cachedInputTokens`` and ``cacheWriteTokens`` are part
/// of ``inputTokens``; ``reasoningTokens`` is part of ``outputTokens``. A subset the provider did not
/// report is `nil` (JSON `null`), which is different from a reported `0`.
public struct UsageRecord: Sendable, Hashable, Codable {
    /// Whether the counts came from the provider or were estimated locally.
    public enum Source: String, Sendable, Hashable, Codable {
        /// The provider reported the counts.
        case reported
        /// TokenLedger estimated the counts (the provider reported nothing usable).
        case estimated
    }

    /// Every prompt-side token billed, cache reads and cache writes included.
    public var inputTokens: Int
    /// Every completion-side token, reasoning/thinking included.
    public var outputTokens: Int
    /// Cache reads (part of ``inputTokens``), or `nil` when not reported.
    public var cachedInputTokens: Int?
    /// Cache creation (part of ``inputTokens``), or `nil` when not reported.
    public var cacheWriteTokens: Int?
    /// Reasoning/thinking tokens (part of ``outputTokens``), or `nil` when not reported.
    public var reasoningTokens: Int?
    /// Whether the counts were reported or estimated.
    public var source: Source

    /// `inputTokens + outputTokens` (saturating at the bounds of `Int`, so an unvalidated record
    /// built with extreme values cannot trap; validation refuses such a record anyway).
    public var totalTokens: Int { Validation.saturatingSum(inputTokens, outputTokens) }

    /// Creates a record.
    public init(
        inputTokens: Int,
        outputTokens: Int,
        cachedInputTokens: Int? = nil,
        cacheWriteTokens: Int? = nil,
        reasoningTokens: Int? = nil,
        source: Source = .reported
    ) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.reasoningTokens = reasoningTokens
        self.source = source
    }

    enum CodingKeys: String, CodingKey {
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case cachedInputTokens = "cached_input_tokens"
        case cacheWriteTokens = "cache_write_tokens"
        case reasoningTokens = "reasoning_tokens"
        case totalTokens = "total_tokens"
        case source
    }

    /// Decodes a record; `total_tokens` is ignored (it is always derived), `source` defaults to reported.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.inputTokens = try c.decode(Int.self, forKey: .inputTokens)
        self.outputTokens = try c.decode(Int.self, forKey: .outputTokens)
        self.cachedInputTokens = try c.decodeIfPresent(Int.self, forKey: .cachedInputTokens)
        self.cacheWriteTokens = try c.decodeIfPresent(Int.self, forKey: .cacheWriteTokens)
        self.reasoningTokens = try c.decodeIfPresent(Int.self, forKey: .reasoningTokens)
        self.source = try c.decodeIfPresent(Source.self, forKey: .source) ?? .reported
    }

    /// Encodes every field; unreported subsets are written as `null`, never omitted.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inputTokens, forKey: .inputTokens)
        try c.encode(outputTokens, forKey: .outputTokens)
        try c.encode(cachedInputTokens, forKey: .cachedInputTokens)
        try c.encode(cacheWriteTokens, forKey: .cacheWriteTokens)
        try c.encode(reasoningTokens, forKey: .reasoningTokens)
        try c.encode(totalTokens, forKey: .totalTokens)
        try c.encode(source, forKey: .source)
    }
}

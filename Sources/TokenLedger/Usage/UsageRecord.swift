/// One call's token usage, normalized across providers.
///
/// Subsets are counted inside their parent: ``cachedInputTokens`` and ``cacheWriteTokens`` are part
/// of ``inputTokens``; ``cacheWrite1hTokens`` is part of ``cacheWriteTokens``; ``reasoningTokens`` is
/// part of ``outputTokens``. A subset the provider did not report is `nil` (JSON `null`), which is
/// different from a reported `0`.
///
/// JSON: the counters of ``TokenCounts`` (without `calls`), `source`, and `cache_write_1h_tokens`
/// only when it was reported (the one subset left out when unknown, so the records of the many
/// providers that do not split cache writes by duration keep their shape), and `reported_cost_usd`
/// only when the provider reported a cost.
public struct UsageRecord: Sendable, Hashable, Codable {
    /// Whether the counts came from the provider or were estimated locally.
    public enum Source: String, Sendable, Hashable, Codable {
        /// The provider reported the counts.
        case reported
        /// TokenLedger estimated the counts (the provider reported nothing usable).
        case estimated
    }

    /// The call's counts (``TokenCounts/calls`` is 1).
    public var counts: TokenCounts
    /// Every prompt-side token billed, cache reads and cache writes included.
    public var inputTokens: Int {
        get { counts.inputTokens }
        set { counts.inputTokens = newValue }
    }
    /// Every completion-side token, reasoning/thinking included.
    public var outputTokens: Int {
        get { counts.outputTokens }
        set { counts.outputTokens = newValue }
    }
    /// Cache reads (part of ``inputTokens``), or `nil` when not reported.
    public var cachedInputTokens: Int? {
        get { counts.cachedInputTokens }
        set { counts.cachedInputTokens = newValue }
    }
    /// Cache creation (part of ``inputTokens``), or `nil` when not reported.
    public var cacheWriteTokens: Int? {
        get { counts.cacheWriteTokens }
        set { counts.cacheWriteTokens = newValue }
    }
    /// Reasoning/thinking tokens (part of ``outputTokens``), or `nil` when not reported.
    public var reasoningTokens: Int? {
        get { counts.reasoningTokens }
        set { counts.reasoningTokens = newValue }
    }
    /// Cache writes that live one hour (part of ``cacheWriteTokens``; the rest are 5-minute writes),
    /// or `nil` when not reported. Anthropic reports them as
    /// `usage.cache_creation.ephemeral_1h_input_tokens`, Bedrock as `cacheDetails` entries with
    /// `ttl: "1h"`; they are billed at their own rate (``ModelPrice/cacheWrite1h``). Not stored in
    /// Redis: the cycle counters hold ``cacheWriteTokens`` only.
    public var cacheWrite1hTokens: Int?
    /// Whether the counts were reported or estimated.
    public var source: Source
    /// The cost the provider reported for the call (OpenRouter `usage.cost`, xAI
    /// `cost_in_usd_ticks`), or `nil` when it reported none. Kept beside the computed cost, summed
    /// per cycle as `reported_cost_usd`; never used to price the event. JSON `reported_cost_usd`
    /// (a nine-decimal string), present only when reported.
    public var reportedCost: Cost?

    /// `inputTokens + outputTokens` (saturating at the bounds of `Int`, so an unvalidated record
    /// built with extreme values cannot trap; validation refuses such a record anyway).
    public var totalTokens: Int { counts.totalTokens }

    /// Creates a record.
    public init(
        inputTokens: Int,
        outputTokens: Int,
        cachedInputTokens: Int? = nil,
        cacheWriteTokens: Int? = nil,
        cacheWrite1hTokens: Int? = nil,
        reasoningTokens: Int? = nil,
        source: Source = .reported,
        reportedCost: Cost? = nil
    ) {
        self.counts = TokenCounts(
            inputTokens: inputTokens, outputTokens: outputTokens, cachedInputTokens: cachedInputTokens,
            cacheWriteTokens: cacheWriteTokens, reasoningTokens: reasoningTokens, calls: 1)
        self.cacheWrite1hTokens = cacheWrite1hTokens
        self.source = source
        self.reportedCost = reportedCost
    }

    enum CodingKeys: String, CodingKey {
        case source
        case cacheWrite1hTokens = "cache_write_1h_tokens"
        case reportedCost = "reported_cost_usd"
    }

    /// Decodes a record; `total_tokens` is ignored (it is always derived), `source` defaults to
    /// reported, a missing `cache_write_1h_tokens` is not reported (records spooled before it existed
    /// decode as they were written).
    public init(from decoder: any Decoder) throws {
        counts = try TokenCounts(from: decoder)
        counts.calls = 1
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decodeIfPresent(Source.self, forKey: .source) ?? .reported
        cacheWrite1hTokens = try c.decodeIfPresent(Int.self, forKey: .cacheWrite1hTokens)
        reportedCost = try c.decodeIfPresent(Cost.self, forKey: .reportedCost)
    }

    /// Encodes every field; unreported subsets are written as `null`, except `cache_write_1h_tokens`,
    /// which is written only when reported.
    public func encode(to encoder: any Encoder) throws {
        try counts.encode(to: encoder, calls: false)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(source, forKey: .source)
        try c.encodeIfPresent(cacheWrite1hTokens, forKey: .cacheWrite1hTokens)
        try c.encodeIfPresent(reportedCost, forKey: .reportedCost)
    }
}

/// A sum over calls that carries its counters as one ``TokenCounts`` (``UserUsage``,
/// ``CycleSummary``, ``UsageReport/Totals``, ``CycleHistory/Totals``, ``CycleHistory/Adjustment``)
/// and shows them as plain counters: every subset reported, `0` when no call reported it.
public protocol TokenCountsCarrying {
    /// The counters.
    var counts: TokenCounts { get set }
}

extension TokenCountsCarrying {
    /// Input tokens, cache reads and writes included.
    public var inputTokens: Int {
        get { counts.inputTokens }
        set { counts.inputTokens = newValue }
    }
    /// Output tokens, reasoning included.
    public var outputTokens: Int {
        get { counts.outputTokens }
        set { counts.outputTokens = newValue }
    }
    /// Cache reads (part of input), summed over the calls that reported them.
    public var cachedInputTokens: Int {
        get { counts.cachedInputTokens ?? 0 }
        set { counts.cachedInputTokens = newValue }
    }
    /// Cache writes (part of input), summed over the calls that reported them.
    public var cacheWriteTokens: Int {
        get { counts.cacheWriteTokens ?? 0 }
        set { counts.cacheWriteTokens = newValue }
    }
    /// Reasoning tokens (part of output), summed over the calls that reported them.
    public var reasoningTokens: Int {
        get { counts.reasoningTokens ?? 0 }
        set { counts.reasoningTokens = newValue }
    }
    /// Input plus output tokens (derived).
    public var totalTokens: Int { counts.totalTokens }
    /// Recorded calls.
    public var calls: Int {
        get { counts.calls }
        set { counts.calls = newValue }
    }
}

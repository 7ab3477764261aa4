/// The token counters every usage value carries: one call's ``UsageRecord``, a user's cycle
/// (``UserUsage``, ``CycleSummary``), a late call (``CycleHistory/Adjustment``) and the sums over
/// users (``UsageReport/Totals``, ``CycleHistory/Totals``).
///
/// Subsets are counted inside their parent: ``cachedInputTokens`` and ``cacheWriteTokens`` are part
/// of ``inputTokens``; ``reasoningTokens`` is part of ``outputTokens``. A subset that was not
/// reported is `nil` (JSON `null`), which is different from a reported `0`; sums of cycles report
/// every subset (a cycle with none of them has `0`). ``totalTokens`` is always derived.
///
/// JSON: the counters' keys at the level of the value that holds them (`input_tokens`,
/// `output_tokens`, `cached_input_tokens`, `cache_write_tokens`, `reasoning_tokens`, `total_tokens`,
/// `calls`); unreported subsets are written as `null`, never omitted.
public struct TokenCounts: Sendable, Hashable, Codable {
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
    /// Calls counted (1 for one call's record).
    public var calls: Int

    /// `inputTokens + outputTokens` (saturating at the bounds of `Int`, so an unvalidated value
    /// built with extreme values cannot trap; validation and the stored-value checks refuse such
    /// values anyway).
    public var totalTokens: Int { Validation.saturatingSum(inputTokens, outputTokens) }

    /// Creates counts; subsets default to not reported.
    public init(
        inputTokens: Int = 0, outputTokens: Int = 0, cachedInputTokens: Int? = nil, cacheWriteTokens: Int? = nil,
        reasoningTokens: Int? = nil, calls: Int = 0
    ) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.reasoningTokens = reasoningTokens
        self.calls = calls
    }

    /// Nothing counted, every subset reported as `0`: the start of a sum over cycles.
    public static let zero = TokenCounts(cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0)

    /// These counts with every unreported subset read as `0` (as sums over cycles show them).
    public var reportingEverySubset: TokenCounts {
        var counts = self
        counts.cachedInputTokens = cachedInputTokens ?? 0
        counts.cacheWriteTokens = cacheWriteTokens ?? 0
        counts.reasoningTokens = reasoningTokens ?? 0
        return counts
    }

    /// The sum, counter by counter; a subset is reported when either side reports it. Traps on
    /// overflow like `Int`'s `+`; use ``addingReportingOverflow(_:)`` for values read from storage.
    public static func + (lhs: TokenCounts, rhs: TokenCounts) -> TokenCounts {
        let (sum, overflow) = lhs.addingReportingOverflow(rhs)
        precondition(!overflow, "token counts overflow")
        return sum
    }

    /// Adds `rhs` to these counts (see ``+(_:_:)``).
    public static func += (lhs: inout TokenCounts, rhs: TokenCounts) { lhs = lhs + rhs }

    /// The difference, counter by counter (taking a call's counts back out of a sum); a subset
    /// stays reported when either side reports it. Traps on overflow like `Int`'s `-`.
    public static func - (lhs: TokenCounts, rhs: TokenCounts) -> TokenCounts {
        lhs
            + TokenCounts(
                inputTokens: -rhs.inputTokens, outputTokens: -rhs.outputTokens,
                cachedInputTokens: rhs.cachedInputTokens.map { -$0 },
                cacheWriteTokens: rhs.cacheWriteTokens.map { -$0 },
                reasoningTokens: rhs.reasoningTokens.map { -$0 }, calls: -rhs.calls)
    }

    /// The sum and whether any counter (or the derived total) left 64 bits; on overflow the
    /// returned counts are not meaningful.
    public func addingReportingOverflow(_ other: TokenCounts) -> (partialValue: TokenCounts, overflow: Bool) {
        var overflow = false
        func add(_ a: Int, _ b: Int) -> Int {
            let (sum, o) = a.addingReportingOverflow(b)
            overflow = overflow || o
            return sum
        }
        func add(_ a: Int?, _ b: Int?) -> Int? {
            guard let a, let b else { return a ?? b }
            return add(a, b)
        }
        let sum = TokenCounts(
            inputTokens: add(inputTokens, other.inputTokens), outputTokens: add(outputTokens, other.outputTokens),
            cachedInputTokens: add(cachedInputTokens, other.cachedInputTokens),
            cacheWriteTokens: add(cacheWriteTokens, other.cacheWriteTokens),
            reasoningTokens: add(reasoningTokens, other.reasoningTokens), calls: add(calls, other.calls))
        overflow = overflow || sum.inputTokens.addingReportingOverflow(sum.outputTokens).overflow
        return (sum, overflow)
    }

    enum CodingKeys: String, CodingKey {
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case cachedInputTokens = "cached_input_tokens"
        case cacheWriteTokens = "cache_write_tokens"
        case reasoningTokens = "reasoning_tokens"
        case totalTokens = "total_tokens"
        case calls
    }

    /// Decodes counts; `total_tokens` is ignored (it is always derived), a missing or `null`
    /// subset is not reported, missing `calls` is 0.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inputTokens = try c.decode(Int.self, forKey: .inputTokens)
        outputTokens = try c.decode(Int.self, forKey: .outputTokens)
        cachedInputTokens = try c.decodeIfPresent(Int.self, forKey: .cachedInputTokens)
        cacheWriteTokens = try c.decodeIfPresent(Int.self, forKey: .cacheWriteTokens)
        reasoningTokens = try c.decodeIfPresent(Int.self, forKey: .reasoningTokens)
        calls = try c.decodeIfPresent(Int.self, forKey: .calls) ?? 0
    }

    /// Encodes the seven counters; unreported subsets are written as `null`, never omitted.
    public func encode(to encoder: any Encoder) throws {
        try encode(to: encoder, calls: true)
    }

    /// Encodes the counters into the encoder's keyed container, so they sit beside the keys of the
    /// value that holds them (that value encodes its own keys into the same encoder).
    ///
    /// - Parameter calls: Whether to write `calls` (one call's record does not).
    func encode(to encoder: any Encoder, calls: Bool) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inputTokens, forKey: .inputTokens)
        try c.encode(outputTokens, forKey: .outputTokens)
        try c.encode(cachedInputTokens, forKey: .cachedInputTokens)
        try c.encode(cacheWriteTokens, forKey: .cacheWriteTokens)
        try c.encode(reasoningTokens, forKey: .reasoningTokens)
        try c.encode(totalTokens, forKey: .totalTokens)
        if calls { try c.encode(self.calls, forKey: .calls) }
    }
}

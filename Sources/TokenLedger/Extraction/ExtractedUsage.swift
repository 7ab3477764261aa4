/// Everything ``UsageExtractor`` read from a response, including usage that is not complete.
///
/// Most responses give the full input/output split, and ``record`` is that normalized record. Two
/// shapes can leave a part unknown, and callers that hold a local prompt estimate (the callback
/// handlers do, from the start of the call) complete them with ``resolved(promptEstimate:)``:
///
/// - **Only a total** (``onlyTotal`` is set): the aiecs dict with `tokens_used` but neither
///   `prompt_tokens` nor `completion_tokens`. ``inputTokens`` and ``outputTokens`` are `nil`.
/// - **Input unknown**: Ollama without `prompt_eval_count` (older servers leave it out when the whole
///   prompt came from the KV cache; it is not 0). ``inputTokens`` is `nil`, ``outputTokens`` is set.
///
/// `extract(from:provider:)` returns ``recordWithoutPromptEstimate``: the reported record, or, when
/// only the input count is unknown, the reported output with input 0 marked
/// ``UsageRecord/Source/estimated`` (the output was billed, so the response is never refused). It
/// throws ``ExtractionError/Code/incompleteUsage`` only when the split is unknown (a total only) or
/// the output count is unknown, so a caller never records a guessed split by accident.
public struct ExtractedUsage: Sendable, Hashable {
    /// The shape that was read (the recognised one when ``Provider/auto`` was asked). OpenAI-like
    /// shapes (Azure, Mistral) are reported as ``Provider/openai`` or ``Provider/openaiEmbeddings``
    /// unless the caller named the provider.
    public var provider: Provider
    /// The model the response names (`model`, `modelVersion`, `response_metadata.model_name`, …), if any.
    public var model: String?
    /// Every prompt-side token (cache reads and writes included), or `nil` when unknown.
    public var inputTokens: Int?
    /// Every completion-side token (reasoning included), or `nil` when unknown.
    public var outputTokens: Int?
    /// Cache reads (part of ``inputTokens``), or `nil` when not reported.
    public var cachedInputTokens: Int?
    /// Cache writes (part of ``inputTokens``), or `nil` when not reported.
    public var cacheWriteTokens: Int?
    /// 1-hour cache writes (part of ``cacheWriteTokens``), or `nil` when not reported (Anthropic's
    /// `cache_creation.ephemeral_1h_input_tokens`, Bedrock's `cacheDetails` with `ttl: "1h"`).
    public var cacheWrite1hTokens: Int?
    /// Reasoning/thinking tokens (part of ``outputTokens``), or `nil` when not reported.
    public var reasoningTokens: Int?
    /// The total when the response gives only a total without its split (aiecs `tokens_used`).
    public var onlyTotal: Int?
    /// Cohere's `billed_units.input_tokens` (can be lower than the processed count), when present.
    public var billedInputTokens: Int?
    /// Cohere's `billed_units.output_tokens`, when present.
    public var billedOutputTokens: Int?
    /// The cost the provider reported (OpenRouter `usage.cost`, xAI `usage.cost_in_usd_ticks`),
    /// rounded to a nano-USD; `nil` when it reported none. Carried into the record.
    public var reportedCost: Cost?

    /// Creates a value; normally made by ``UsageExtractor``.
    ///
    /// - Parameters:
    ///   - provider: The shape that was read.
    ///   - model: The model the response names.
    ///   - inputTokens: All input tokens, or `nil` when unknown.
    ///   - outputTokens: All output tokens, or `nil` when unknown.
    ///   - cachedInputTokens: Cache reads, or `nil` when not reported.
    ///   - cacheWriteTokens: Cache writes, or `nil` when not reported.
    ///   - cacheWrite1hTokens: 1-hour cache writes (part of the cache writes), or `nil` when not reported.
    ///   - reasoningTokens: Reasoning tokens, or `nil` when not reported.
    ///   - onlyTotal: A total given without its split.
    ///   - billedInputTokens: Billed input units (Cohere).
    ///   - billedOutputTokens: Billed output units (Cohere).
    ///   - reportedCost: The cost the provider reported.
    public init(
        provider: Provider,
        model: String? = nil,
        inputTokens: Int?,
        outputTokens: Int?,
        cachedInputTokens: Int? = nil,
        cacheWriteTokens: Int? = nil,
        cacheWrite1hTokens: Int? = nil,
        reasoningTokens: Int? = nil,
        onlyTotal: Int? = nil,
        billedInputTokens: Int? = nil,
        billedOutputTokens: Int? = nil,
        reportedCost: Cost? = nil
    ) {
        self.provider = provider
        self.model = model
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.cacheWrite1hTokens = cacheWrite1hTokens
        self.reasoningTokens = reasoningTokens
        self.onlyTotal = onlyTotal
        self.billedInputTokens = billedInputTokens
        self.billedOutputTokens = billedOutputTokens
        self.reportedCost = reportedCost
    }

    /// Whether both ``inputTokens`` and ``outputTokens`` are known.
    public var isComplete: Bool { inputTokens != nil && outputTokens != nil }

    /// The reported record, or `nil` when the input or output count is unknown.
    public var record: UsageRecord? {
        guard let inputTokens, let outputTokens else { return nil }
        return UsageRecord(
            inputTokens: inputTokens,
            outputTokens: outputTokens,
            cachedInputTokens: cachedInputTokens,
            cacheWriteTokens: cacheWriteTokens,
            cacheWrite1hTokens: cacheWrite1hTokens,
            reasoningTokens: reasoningTokens,
            source: .reported,
            reportedCost: reportedCost
        )
    }

    /// Whether the output count is reported but the input count is not (Ollama without
    /// `prompt_eval_count`): the response can be recorded, with the input estimated.
    public var isInputUnknown: Bool { inputTokens == nil && outputTokens != nil && onlyTotal == nil }

    /// The record to store when the caller has no prompt estimate (the `extract` command, `record
    /// --response`):
    ///
    /// - Complete usage: ``record`` (source `reported`).
    /// - Input unknown, output reported (``isInputUnknown``): the output as reported and input 0, with
    ///   source `estimated` so the record says its counts are not all reported; this equals
    ///   `resolved(promptEstimate: 0)`. A caller with a prompt estimate uses
    ///   ``resolved(promptEstimate:)`` instead.
    /// - Only a total, or the output unknown: `nil`; the split cannot be told without an estimate.
    public var recordWithoutPromptEstimate: UsageRecord? {
        if let record { return record }
        return isInputUnknown ? resolved(promptEstimate: 0) : nil
    }

    /// A complete record, filling what the response left unknown from a local prompt estimate.
    ///
    /// - Complete usage: ``record``, unchanged (source `reported`).
    /// - Only a total: input = min(estimate, total), output = total − input (the aiecs seed's split).
    /// - Input unknown: input = estimate; a missing output counts as 0.
    ///
    /// Filled records have source `estimated`; subsets are capped at their (possibly estimated) parent.
    ///
    /// - Parameter promptEstimate: The caller's estimate of the prompt tokens; clamped to 0…10^12.
    /// - Returns: A record whose counts satisfy the record's invariants.
    public func resolved(promptEstimate: Int) -> UsageRecord {
        if let record { return record }
        // Values set through the public initializer are clamped too, so nothing below can overflow.
        func clamp(_ value: Int) -> Int { min(max(value, 0), UsageCount.maximum) }
        let estimate = clamp(promptEstimate)
        let knownInput = inputTokens.map(clamp)
        let knownOutput = outputTokens.map(clamp)
        let input: Int
        let output: Int
        if let total = onlyTotal.map(clamp) {
            input = knownInput ?? min(estimate, total)
            output = knownOutput ?? max(total - input, 0)
        } else {
            input = knownInput ?? estimate
            output = knownOutput ?? 0
        }
        let cacheWrites = cacheWriteTokens.map { min(clamp($0), input) }
        return UsageRecord(
            inputTokens: input,
            outputTokens: output,
            cachedInputTokens: cachedInputTokens.map { min(clamp($0), input) },
            cacheWriteTokens: cacheWrites,
            cacheWrite1hTokens: cacheWrite1hTokens.map { min(clamp($0), cacheWrites ?? 0) },
            reasoningTokens: reasoningTokens.map { min(clamp($0), output) },
            source: .estimated,
            reportedCost: reportedCost
        )
    }
}

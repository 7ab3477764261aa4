/// The aiecs seed's `on_llm_end` dict: `prompt_tokens`, `completion_tokens`, `tokens_used` at the
/// top level (also a bare OpenAI-style usage dict with `total_tokens` and `*_details`).
///
/// - Both parts present: input/output as given (plus reasoning reported outside the completion
///   count, as xAI does, when the total says so).
/// - One part and the total: the other part is total − the given one.
/// - Only `tokens_used` (or `total_tokens`): the split is unknown; ``ExtractedUsage/onlyTotal`` is set
///   and ``ExtractedUsage/resolved(promptEstimate:)`` splits it with the caller's prompt estimate, as
///   the seed's detailed handler did.
/// In an array, the last object with any of these fields is read.
enum AIECSReader {
    static let fields = ["prompt_tokens", "completion_tokens", "tokens_used", "total_tokens"]

    static func read(_ events: EventList) throws(ExtractionError) -> UsageParts {
        var last: (object: [String: JSONValue], path: JSONPath)?
        for (object, path) in events.items
        where fields.contains(where: { object[$0] != nil && object[$0]?.isNull == false }) {
            last = (object, path)
        }
        guard let (object, path) = last else {
            throw events.noUsage("none of prompt_tokens, completion_tokens, tokens_used")
        }
        var parts = UsageParts(path: path)
        let prompt = try UsageCount.optional(object, "prompt_tokens", at: path)
        let completion = try UsageCount.optional(object, "completion_tokens", at: path)
        var totalKey = "tokens_used"
        var total = try UsageCount.optional(object, "tokens_used", at: path)
        if total == nil {
            totalKey = "total_tokens"
            total = try UsageCount.optional(object, "total_tokens", at: path)
        }
        switch (prompt, completion, total) {
        case (let p?, let c?, _):
            parts.input = p
            parts.output = c
        case (let p?, nil, let t?):
            guard t >= p else {
                throw ExtractionError(
                    .invalidValue, at: path.appending(totalKey), "\(totalKey) (\(t)) is less than prompt_tokens (\(p))")
            }
            parts.input = p
            parts.output = t - p
        case (nil, let c?, let t?):
            guard t >= c else {
                throw ExtractionError(
                    .invalidValue, at: path.appending(totalKey),
                    "\(totalKey) (\(t)) is less than completion_tokens (\(c))")
            }
            parts.input = t - c
            parts.output = c
        case (nil, nil, let t?):
            parts.onlyTotal = t
            parts.unknownReason = (
                path.appending("prompt_tokens"),
                "missing, as is completion_tokens: only \(totalKey) (\(t)) is given, so the input/output split is unknown"
            )
        case (let p?, nil, nil):
            parts.input = p
            parts.unknownReason = (
                path.appending("completion_tokens"), "missing, and there is no total: the output count is unknown"
            )
        case (nil, let c?, nil):
            parts.output = c
            parts.unknownReason = (
                path.appending("prompt_tokens"), "missing, and there is no total: the input count is unknown"
            )
        case (nil, nil, nil):
            throw events.noUsage("none of prompt_tokens, completion_tokens, tokens_used")
        }
        let promptPath = path.appending("prompt_tokens_details")
        if let details = try JSONAccess.object(object, "prompt_tokens_details", at: path) {
            parts.cached = try UsageCount.optional(details, "cached_tokens", at: promptPath)
            parts.cacheWrite = try UsageCount.optional(details, "cache_write_tokens", at: promptPath)
        }
        let completionPath = path.appending("completion_tokens_details")
        if let details = try JSONAccess.object(object, "completion_tokens_details", at: path) {
            parts.reasoning = try UsageCount.optional(details, "reasoning_tokens", at: completionPath)
        }
        // A bare xAI usage dict: reasoning outside completion_tokens (total = prompt + completion + reasoning).
        if let p = prompt, let c = completion, let reasoning = parts.reasoning,
            UsageCount.reasoningIsOutside(prompt: p, completion: c, reasoning: reasoning, total: total)
        {
            parts.output = try UsageCount.add(c, reasoning, at: path, "completion_tokens plus reasoning_tokens")
        }
        return parts
    }
}

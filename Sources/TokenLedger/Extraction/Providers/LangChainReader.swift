/// LangChain `AIMessage.usage_metadata` (also `AIMessageChunk`s, and `dumpd` output with `kwargs`).
///
/// `input_tokens` is already the sum of all input token types (integrations add Anthropic/Bedrock
/// cache back in) and `output_tokens` includes reasoning, so nothing is added, except:
/// - when `total_tokens` is input + output + reasoning (xAI/Grok through langchain-openai, whose
///   `output_tokens` is xAI's `completion_tokens`, which leaves reasoning out), reasoning goes into output;
/// - otherwise, when `total_tokens` is larger than input + output (langchain-google leaves Gemini's
///   tool-use prompt tokens out of `input_tokens` but not out of the total), the gap goes into input;
/// - cached = `input_token_details.cache_read` plus any tier-prefixed `*_cache_read` (`flex_cache_read`);
/// - cache write = max(`cache_creation` (+ `*_cache_creation`), sum of `ephemeral_*_input_tokens`),
///   because newer langchain-anthropic/-aws zero `cache_creation` and move writes to the ephemeral keys;
/// - 1-hour cache writes = `input_token_details.ephemeral_1h_input_tokens` (`nil` when absent);
/// - reasoning = `output_token_details.reasoning` plus any `*_reasoning` (`flex_reasoning`).
/// Bare tier keys (`flex`, `priority`) hold the remainder and are never added.
///
/// Chunks carry **deltas**: every chunk's usage is summed (as `AIMessageChunk.__add__` does).
enum LangChainReader {
    private struct Totals {
        var input = 0
        var output = 0
        var total: Int?
        var cacheRead: Int?
        var cacheCreation: Int?
        var ephemeral: Int?
        var ephemeral1h: Int?
        var reasoning: Int?
        var path = JSONPath.root
    }

    /// `usage_metadata` of an object, looking through `dumpd`'s `kwargs`.
    static func usageMetadata(
        _ object: [String: JSONValue], at path: JSONPath
    ) throws(ExtractionError) -> (usage: [String: JSONValue], path: JSONPath)? {
        if let usage = try JSONAccess.object(object, "usage_metadata", at: path) {
            return (usage, path.appending("usage_metadata"))
        }
        let kwargsPath = path.appending("kwargs")
        if let kwargs = try JSONAccess.object(object, "kwargs", at: path),
            let usage = try JSONAccess.object(kwargs, "usage_metadata", at: kwargsPath)
        {
            return (usage, kwargsPath.appending("usage_metadata"))
        }
        return nil
    }

    static func read(_ events: EventList) throws(ExtractionError) -> UsageParts {
        var totals = Totals()
        var seen = 0
        for (object, path) in events.items {
            guard let (usage, usagePath) = try usageMetadata(object, at: path) else { continue }
            try add(usage, at: usagePath, to: &totals)
            seen += 1
        }
        if seen == 0, let single = events.single, isBareUsage(single) {
            try add(single, at: .root, to: &totals)
            seen = 1
        }
        guard seen > 0 else {
            throw events.noUsage(events.isStream ? "no chunk has usage_metadata" : "no usage_metadata object")
        }
        var parts = UsageParts(path: totals.path)
        var input = totals.input
        var output = totals.output
        if let reasoning = totals.reasoning,
            UsageCount.reasoningIsOutside(
                prompt: input, completion: totals.output, reasoning: reasoning, total: totals.total)
        {
            // xAI through langchain-openai: output_tokens is xAI's completion_tokens, without reasoning.
            output = try UsageCount.add(totals.output, reasoning, at: totals.path, "output_tokens plus reasoning")
        } else if let total = totals.total {
            let sum = try UsageCount.add(input, totals.output, at: totals.path, "input_tokens plus output_tokens")
            if total > sum { input = total - totals.output }
        }
        parts.input = input
        parts.output = output
        parts.cached = totals.cacheRead
        if totals.cacheCreation != nil || totals.ephemeral != nil {
            parts.cacheWrite = max(totals.cacheCreation ?? 0, totals.ephemeral ?? 0)
        }
        parts.cacheWrite1h = totals.ephemeral1h
        parts.reasoning = totals.reasoning
        return parts
    }

    /// A bare `usage_metadata` dict handed in directly.
    static func isBareUsage(_ object: [String: JSONValue]) -> Bool {
        object["input_tokens"] != nil && object["output_tokens"] != nil
            && (object["input_token_details"] != nil || object["output_token_details"] != nil
                || object["total_tokens"] != nil)
    }

    private static func add(_ usage: [String: JSONValue], at path: JSONPath, to totals: inout Totals)
        throws(ExtractionError)
    {
        totals.path = path
        let what = "the summed usage_metadata"
        totals.input = try UsageCount.add(
            totals.input, try UsageCount.required(usage, "input_tokens", at: path), at: path, what)
        totals.output = try UsageCount.add(
            totals.output, try UsageCount.required(usage, "output_tokens", at: path), at: path, what)
        totals.total = try UsageCount.add(
            totals.total, try UsageCount.optional(usage, "total_tokens", at: path), at: path, what)

        let inputPath = path.appending("input_token_details")
        if let details = try JSONAccess.object(usage, "input_token_details", at: path) {
            for key in details.keys.sorted() {
                let isRead = key == "cache_read" || key.hasSuffix("_cache_read")
                let isCreation = key == "cache_creation" || key.hasSuffix("_cache_creation")
                let isEphemeral = key.hasPrefix("ephemeral_") && key.hasSuffix("_input_tokens")
                guard isRead || isCreation || isEphemeral,
                    let count = try UsageCount.optional(details, key, at: inputPath)
                else { continue }
                if isRead {
                    totals.cacheRead = try UsageCount.add(totals.cacheRead, count, at: inputPath, what)
                } else if isCreation {
                    totals.cacheCreation = try UsageCount.add(totals.cacheCreation, count, at: inputPath, what)
                } else {
                    totals.ephemeral = try UsageCount.add(totals.ephemeral, count, at: inputPath, what)
                    if key == "ephemeral_1h_input_tokens" {
                        totals.ephemeral1h = try UsageCount.add(totals.ephemeral1h, count, at: inputPath, what)
                    }
                }
            }
        }
        let outputPath = path.appending("output_token_details")
        if let details = try JSONAccess.object(usage, "output_token_details", at: path) {
            for key in details.keys.sorted() where key == "reasoning" || key.hasSuffix("_reasoning") {
                guard let count = try UsageCount.optional(details, key, at: outputPath) else { continue }
                totals.reasoning = try UsageCount.add(totals.reasoning, count, at: outputPath, what)
            }
        }
    }
}

/// OpenAI Chat Completions (also Azure, Mistral, OpenAI-compatible servers) and Embeddings.
///
/// `prompt_tokens` already includes `prompt_tokens_details.cached_tokens` (and audio);
/// `completion_tokens` already includes `completion_tokens_details.reasoning_tokens` (and rejected
/// prediction tokens), so nothing is added, except for xAI (Grok), which reports `reasoning_tokens`
/// **outside** `completion_tokens` (`total_tokens = prompt + completion + reasoning`): when the total
/// says so, output = completion + reasoning (see `UsageCount.reasoningIsOutside`).
///
/// In a stream, usage arrives only in a final chunk (`stream_options.include_usage`), every earlier
/// chunk has `usage: null`; the last chunk with a usage object wins. Azure's first chunk (empty
/// `choices`, no usage) is simply skipped.
enum OpenAIChatReader {
    static func read(_ events: EventList) throws(ExtractionError) -> UsageParts {
        var last: (usage: JSONValue, path: JSONPath)?
        for (object, path) in events.items {
            if let usage = object["usage"], !usage.isNull { last = (usage, path.appending("usage")) }
        }
        let (usage, path) = try events.usageObject(
            last, bare: isBareUsage,
            missing: events.isStream
                ? "OpenAI streams report usage only with stream_options.include_usage=true, in a final chunk"
                : "no usage object")
        return try parse(usage, at: path)
    }

    /// A bare usage object handed in directly (`{"prompt_tokens":…, "completion_tokens":…}` plus details).
    static func isBareUsage(_ object: [String: JSONValue]) -> Bool {
        object["prompt_tokens"] != nil
            && (object["prompt_tokens_details"] != nil || object["completion_tokens_details"] != nil)
    }

    static func parse(_ usage: [String: JSONValue], at path: JSONPath) throws(ExtractionError) -> UsageParts {
        var parts = UsageParts(path: path)
        let input = try UsageCount.required(usage, "prompt_tokens", at: path)
        parts.input = input
        let total = try UsageCount.optional(usage, "total_tokens", at: path)
        let completion = try UsageCount.optional(usage, "completion_tokens", at: path)
        if let completion {
            parts.output = completion
        } else if let total {
            // Embeddings: no completion_tokens, total == prompt.
            guard total >= input else {
                throw ExtractionError(
                    .invalidValue, at: path.appending("total_tokens"),
                    "total_tokens (\(total)) is less than prompt_tokens (\(input))")
            }
            parts.output = total - input
        } else {
            throw ExtractionError(
                .missingField, at: path.appending("completion_tokens"),
                "the token count is missing or null (and there is no total_tokens to derive it from)")
        }
        let promptPath = path.appending("prompt_tokens_details")
        if let details = try JSONAccess.object(usage, "prompt_tokens_details", at: path) {
            parts.cached = try UsageCount.optional(details, "cached_tokens", at: promptPath)
            parts.cacheWrite = try UsageCount.optional(details, "cache_write_tokens", at: promptPath)
        }
        if parts.cached == nil {
            // DeepSeek-style OpenAI-compatible servers: prompt_tokens = hit + miss.
            parts.cached = try UsageCount.optional(usage, "prompt_cache_hit_tokens", at: path)
        }
        let completionPath = path.appending("completion_tokens_details")
        if let details = try JSONAccess.object(usage, "completion_tokens_details", at: path) {
            parts.reasoning = try UsageCount.optional(details, "reasoning_tokens", at: completionPath)
        }
        parts.reportedCost = ReportedCostReading.read(usage, at: path)
        if let completion, let reasoning = parts.reasoning,
            UsageCount.reasoningIsOutside(prompt: input, completion: completion, reasoning: reasoning, total: total)
        {
            parts.output = try UsageCount.add(
                completion, reasoning, at: path, "completion_tokens plus reasoning_tokens")
        }
        return parts
    }
}

/// OpenAI Responses API: `usage.input_tokens` includes `input_tokens_details.cached_tokens`;
/// `output_tokens` includes `output_tokens_details.reasoning_tokens`. In a stream, only the
/// terminal `response.completed` / `response.incomplete` / `response.failed` event is read.
enum OpenAIResponsesReader {
    static let terminalEvents: Set<String> = ["response.completed", "response.incomplete", "response.failed"]

    static func read(_ events: EventList) throws(ExtractionError) -> UsageParts {
        var last: (usage: JSONValue, path: JSONPath)?
        for (object, path) in events.items {
            if let type = object["type"]?.stringValue, type.hasPrefix("response.") {
                guard terminalEvents.contains(type) else { continue }
                let responsePath = path.appending("response")
                guard let response = try JSONAccess.object(object, "response", at: path) else { continue }
                if let usage = response["usage"], !usage.isNull { last = (usage, responsePath.appending("usage")) }
            } else if let usage = object["usage"], !usage.isNull {
                last = (usage, path.appending("usage"))
            }
        }
        let (usage, path) = try events.usageObject(
            last, bare: isBareUsage,
            missing: events.isStream
                ? "no response.completed, response.incomplete or response.failed event with usage"
                : "no usage object")
        return try parse(usage, at: path)
    }

    static func isBareUsage(_ object: [String: JSONValue]) -> Bool {
        object["input_tokens"] != nil
            && (object["input_tokens_details"] != nil || object["output_tokens_details"] != nil
                || object["total_tokens"] != nil)
    }

    static func parse(_ usage: [String: JSONValue], at path: JSONPath) throws(ExtractionError) -> UsageParts {
        var parts = UsageParts(path: path)
        parts.input = try UsageCount.required(usage, "input_tokens", at: path)
        parts.output = try UsageCount.required(usage, "output_tokens", at: path)
        let inputPath = path.appending("input_tokens_details")
        if let details = try JSONAccess.object(usage, "input_tokens_details", at: path) {
            parts.cached = try UsageCount.optional(details, "cached_tokens", at: inputPath)
            parts.cacheWrite = try UsageCount.optional(details, "cache_write_tokens", at: inputPath)
        }
        let outputPath = path.appending("output_tokens_details")
        if let details = try JSONAccess.object(usage, "output_tokens_details", at: path) {
            parts.reasoning = try UsageCount.optional(details, "reasoning_tokens", at: outputPath)
        }
        parts.reportedCost = ReportedCostReading.read(usage, at: path)
        return parts
    }
}

/// Google Gemini / Vertex AI `generateContent` (REST camelCase or SDK snake_case).
///
/// `promptTokenCount` includes `cachedContentTokenCount`; `candidatesTokenCount` excludes
/// `thoughtsTokenCount`. input = prompt + `toolUsePromptTokenCount`; output = candidates (Live API:
/// `responseTokenCount`) + thoughts. Cache writes are not reported (always `nil`). Counts the API
/// omits are zero (proto3 JSON leaves zeros out) except the optional subsets, which follow the null
/// rule. When the candidates count is absent but `totalTokenCount` is larger than the other parts,
/// the difference is the candidates count.
///
/// Streams carry running totals: the **last** chunk with `usageMetadata` wins (no sum, no max);
/// chunks without it are skipped.
enum GeminiReader {
    static let usageKeys = ["usageMetadata", "usage_metadata"]
    static let countKeys = [
        "promptTokenCount", "prompt_token_count", "candidatesTokenCount", "candidates_token_count",
        "responseTokenCount", "response_token_count", "thoughtsTokenCount", "thoughts_token_count",
        "toolUsePromptTokenCount", "tool_use_prompt_token_count", "cachedContentTokenCount",
        "cached_content_token_count", "totalTokenCount", "total_token_count",
    ]

    static func read(_ events: EventList) throws(ExtractionError) -> UsageParts {
        var last: (usage: [String: JSONValue], path: JSONPath)?
        for (object, path) in events.items {
            for key in usageKeys {
                guard let usage = try JSONAccess.object(object, key, at: path) else { continue }
                // An empty usageMetadata carries nothing; keep the previous running total.
                if countKeys.contains(where: { usage[$0] != nil && usage[$0]?.isNull == false }) {
                    last = (usage, path.appending(key))
                }
                break
            }
        }
        let (usage, path) = try events.usageObject(
            last, bare: isBareUsage,
            missing: events.isStream ? "no chunk has usageMetadata" : "no usageMetadata object")
        return try parse(usage, at: path)
    }

    static func isBareUsage(_ object: [String: JSONValue]) -> Bool {
        object["promptTokenCount"] != nil || object["prompt_token_count"] != nil
            || object["candidatesTokenCount"] != nil || object["candidates_token_count"] != nil
    }

    static func parse(_ usage: [String: JSONValue], at path: JSONPath) throws(ExtractionError) -> UsageParts {
        func count(_ camel: String, _ snake: String) throws(ExtractionError) -> Int? {
            try UsageCount.optional(usage, anyOf: [camel, snake], at: path)
        }
        let prompt = try count("promptTokenCount", "prompt_token_count")
        let toolUse = try count("toolUsePromptTokenCount", "tool_use_prompt_token_count")
        let thoughts = try count("thoughtsTokenCount", "thoughts_token_count")
        let cached = try count("cachedContentTokenCount", "cached_content_token_count")
        let total = try count("totalTokenCount", "total_token_count")
        var candidates = try count("candidatesTokenCount", "candidates_token_count")
        if candidates == nil { candidates = try count("responseTokenCount", "response_token_count") }

        var parts = UsageParts(path: path)
        if prompt == nil, candidates == nil, thoughts == nil, toolUse == nil, let total {
            parts.onlyTotal = total
            parts.unknownReason = (
                path.appending("promptTokenCount"), "only totalTokenCount is given; the split is unknown"
            )
            parts.cached = cached
            return parts
        }
        let input = try UsageCount.add(
            prompt ?? 0, toolUse ?? 0, at: path, "promptTokenCount plus toolUsePromptTokenCount")
        var response = candidates ?? 0
        if candidates == nil, let total {
            let known = try UsageCount.add(input, thoughts ?? 0, at: path, "prompt, tool-use and thoughts counts")
            if total > known { response = total - known }
        }
        parts.input = input
        parts.output = try UsageCount.add(
            response, thoughts ?? 0, at: path, "candidatesTokenCount plus thoughtsTokenCount")
        parts.reasoning = thoughts
        parts.cached = cached
        return parts
    }
}

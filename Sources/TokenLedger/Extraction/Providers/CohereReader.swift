/// Cohere chat v2 (and the v1 `meta` block).
///
/// input/output = `usage.tokens.input_tokens` / `output_tokens` (processed tokens; when `tokens` is
/// absent, `billed_units` is used instead). `usage.cached_tokens` is the cache-read subset of input.
/// `billed_units` (which can be lower: Cohere does not bill tokens it adds itself) is exposed separately.
/// The SDK types are floats: whole floats such as `1003.0` are accepted, fractions are rejected.
/// Streams: usage is only in `message-end` (`delta.usage`); v1 streams in `stream-end`
/// (`response.meta`). The last one wins.
enum CohereReader {
    static func read(_ events: EventList) throws(ExtractionError) -> UsageParts {
        var last: (usage: [String: JSONValue], path: JSONPath)?
        for (object, path) in events.items {
            if object["type"]?.stringValue == "message-end" {
                let deltaPath = path.appending("delta")
                if let delta = try JSONAccess.object(object, "delta", at: path),
                    let usage = try JSONAccess.object(delta, "usage", at: deltaPath)
                {
                    last = (usage, deltaPath.appending("usage"))
                }
            } else if object["event_type"]?.stringValue == "stream-end" {
                let responsePath = path.appending("response")
                if let response = try JSONAccess.object(object, "response", at: path),
                    let meta = try JSONAccess.object(response, "meta", at: responsePath)
                {
                    last = (meta, responsePath.appending("meta"))
                }
            } else if let usage = try JSONAccess.object(object, "usage", at: path) {
                last = (usage, path.appending("usage"))
            } else if let meta = try JSONAccess.object(object, "meta", at: path),
                meta["tokens"] != nil || meta["billed_units"] != nil
            {
                last = (meta, path.appending("meta"))
            }
        }
        let (usage, path) = try events.usageObject(
            last, bare: isBareUsage,
            missing: events.isStream ? "no message-end event with delta.usage" : "no usage object")
        return try parse(usage, at: path)
    }

    static func isBareUsage(_ object: [String: JSONValue]) -> Bool {
        object["tokens"]?.objectValue != nil || object["billed_units"]?.objectValue != nil
    }

    static func parse(_ usage: [String: JSONValue], at path: JSONPath) throws(ExtractionError) -> UsageParts {
        var parts = UsageParts(path: path)
        let tokensPath = path.appending("tokens")
        let billedPath = path.appending("billed_units")
        let tokens = try JSONAccess.object(usage, "tokens", at: path)
        let billed = try JSONAccess.object(usage, "billed_units", at: path)
        var processedInput: Int?
        var processedOutput: Int?
        if let tokens {
            processedInput = try UsageCount.optional(tokens, "input_tokens", at: tokensPath)
            processedOutput = try UsageCount.optional(tokens, "output_tokens", at: tokensPath)
        }
        if let billed {
            parts.billedInput = try UsageCount.optional(billed, "input_tokens", at: billedPath)
            parts.billedOutput = try UsageCount.optional(billed, "output_tokens", at: billedPath)
        }
        guard let input = processedInput ?? parts.billedInput else {
            throw ExtractionError(
                .missingField, at: tokensPath.appending("input_tokens"),
                "the token count is missing or null (and billed_units.input_tokens too)")
        }
        parts.input = input
        // Embed responses bill input only.
        parts.output = processedOutput ?? parts.billedOutput ?? 0
        parts.cached = try UsageCount.optional(usage, "cached_tokens", at: path)
        return parts
    }
}

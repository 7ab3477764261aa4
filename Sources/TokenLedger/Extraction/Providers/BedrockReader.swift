/// AWS Bedrock Converse / ConverseStream.
///
/// `inputTokens` is only the uncached remainder: input = `inputTokens` + `cacheReadInputTokens` +
/// `cacheWriteInputTokens` (or, when that is absent, the sum of `cacheDetails[].inputTokens`).
/// `cacheDetails` splits the writes by time to live: the entries with `ttl: "1h"` are the 1-hour writes
/// (``UsageRecord/cacheWrite1hTokens``; `nil` without `cacheDetails`).
/// Reasoning is not broken out (`nil`). In a stream, usage is only in the final `metadata` event
/// (boto3 event dicts `{"metadata": {"usage": …}}`, or raw event payloads `{"usage": …}`); the last wins.
enum BedrockReader {
    static func read(_ events: EventList) throws(ExtractionError) -> UsageParts {
        var last: (usage: JSONValue, path: JSONPath)?
        for (object, path) in events.items {
            if let metadata = try JSONAccess.object(object, "metadata", at: path),
                let usage = metadata["usage"], !usage.isNull
            {
                last = (usage, path.appending("metadata").appending("usage"))
            } else if let usage = object["usage"], !usage.isNull {
                last = (usage, path.appending("usage"))
            }
        }
        let (usage, path) = try events.usageObject(
            last, bare: isBareUsage,
            missing: events.isStream ? "no metadata event with usage" : "no usage object")
        return try parse(usage, at: path)
    }

    static func isBareUsage(_ object: [String: JSONValue]) -> Bool {
        object["inputTokens"] != nil && object["outputTokens"] != nil
    }

    static func parse(_ usage: [String: JSONValue], at path: JSONPath) throws(ExtractionError) -> UsageParts {
        var parts = UsageParts(path: path)
        let uncached = try UsageCount.required(usage, "inputTokens", at: path)
        let output = try UsageCount.required(usage, "outputTokens", at: path)
        let cacheRead = try UsageCount.optional(usage, "cacheReadInputTokens", at: path)
        var cacheWrite = try UsageCount.optional(usage, "cacheWriteInputTokens", at: path)
        if let details = try JSONAccess.array(usage, "cacheDetails", at: path) {
            let detailsPath = path.appending("cacheDetails")
            var sum = 0
            var oneHour = 0
            for (i, element) in details.enumerated() {
                let elementPath = detailsPath.appending(index: i)
                guard case .object(let detail) = element else {
                    throw ExtractionError(
                        .invalidValue, at: elementPath, "expected an object, found \(element.kindDescription)")
                }
                let count = try UsageCount.optional(detail, "inputTokens", at: elementPath) ?? 0
                sum = try UsageCount.add(sum, count, at: detailsPath, "cacheDetails")
                if JSONAccess.string(detail, "ttl") == "1h" {
                    oneHour = try UsageCount.add(oneHour, count, at: detailsPath, "cacheDetails")
                }
            }
            if cacheWrite == nil { cacheWrite = sum }
            parts.cacheWrite1h = oneHour
        }
        var input = try UsageCount.add(uncached, cacheRead ?? 0, at: path, "inputTokens plus cacheReadInputTokens")
        input = try UsageCount.add(input, cacheWrite ?? 0, at: path, "inputTokens plus cache reads and writes")
        parts.input = input
        parts.output = output
        parts.cached = cacheRead
        parts.cacheWrite = cacheWrite
        return parts
    }
}

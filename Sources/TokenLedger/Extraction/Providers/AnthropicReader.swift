/// Anthropic Messages.
///
/// `usage.input_tokens` is only the uncached remainder: input = `input_tokens` +
/// `cache_read_input_tokens` + `cache_creation_input_tokens` (or, when that is absent, the sum of
/// `cache_creation.ephemeral_*_input_tokens`). `output_tokens` already includes thinking;
/// `output_tokens_details.thinking_tokens` is the reasoning subset. The 1-hour writes
/// (``UsageRecord/cacheWrite1hTokens``) are `cache_creation.ephemeral_1h_input_tokens`, `nil` when the
/// response has no `cache_creation` object with that field (the rest of the writes are 5-minute ones).
///
/// `usage.iterations` (compaction, advisor and server-tool loops): the top-level counts hold only the
/// `type: "message"` iterations; `compaction` and `advisor_message` iterations are billed on top. When
/// a non-empty `iterations` array is present, the record is the **sum over every iteration**, each
/// iteration's input being its `input_tokens` + cache reads + cache writes as above; the top-level
/// counts are then not used (their thinking subset still is).
///
/// Streams: `message_start.message.usage` then `message_delta.usage`, which is **cumulative**: each
/// field present (and not `null`) overwrites the previous value; the last delta wins. Nothing is summed
/// across events; the last event carrying `iterations` gives the iterations.
enum AnthropicReader {
    private struct State {
        var input: Int?
        var cacheRead: Int?
        var cacheCreation: Int?
        var ephemeral: Int?
        var ephemeral1h: Int?
        var output: Int?
        var thinking: Int?
        var path = JSONPath.root
        /// The sum over the last non-empty `iterations` array seen.
        var iterations: IterationTotals?
    }

    /// Every iteration's counts added up; cache counts stay `nil` when no iteration reports them.
    private struct IterationTotals {
        var input = 0
        var output = 0
        var cacheRead: Int?
        var cacheWrite: Int?
        var cacheWrite1h: Int?
        var path: JSONPath
    }

    static func read(_ events: EventList) throws(ExtractionError) -> UsageParts {
        var state = State()
        var sawUsage = false
        for (object, path) in events.items {
            let usageValue: JSONValue?
            let usagePath: JSONPath
            if object["type"]?.stringValue == "message_start" {
                usagePath = path.appending("message").appending("usage")
                usageValue = try JSONAccess.object(object, "message", at: path)?["usage"]
            } else {
                usagePath = path.appending("usage")
                usageValue = object["usage"]
            }
            guard let usageValue, !usageValue.isNull else { continue }
            guard case .object(let usage) = usageValue else {
                throw ExtractionError(
                    .invalidValue, at: usagePath, "expected a usage object, found \(usageValue.kindDescription)")
            }
            try merge(usage, at: usagePath, into: &state)
            sawUsage = true
        }
        if !sawUsage, let single = events.single, isBareUsage(single) {
            try merge(single, at: .root, into: &state)
            sawUsage = true
        }
        guard sawUsage else {
            throw events.noUsage(events.isStream ? "no message_start or message_delta usage" : "no usage object")
        }
        if let iterations = state.iterations {
            var parts = UsageParts(path: iterations.path)
            parts.input = iterations.input
            parts.output = iterations.output
            parts.cached = iterations.cacheRead
            parts.cacheWrite = iterations.cacheWrite
            parts.cacheWrite1h = iterations.cacheWrite1h
            parts.reasoning = state.thinking
            return parts
        }
        guard let uncached = state.input else {
            throw ExtractionError(
                .missingField, at: state.path.appending("input_tokens"), "the token count is missing or null")
        }
        guard let output = state.output else {
            throw ExtractionError(
                .missingField, at: state.path.appending("output_tokens"), "the token count is missing or null")
        }
        var parts = UsageParts(path: state.path)
        let write = state.cacheCreation ?? state.ephemeral
        var input = try UsageCount.add(uncached, state.cacheRead ?? 0, at: state.path, "input_tokens plus cache reads")
        input = try UsageCount.add(input, write ?? 0, at: state.path, "input_tokens plus cache reads and writes")
        parts.input = input
        parts.output = output
        parts.cached = state.cacheRead
        parts.cacheWrite = write
        parts.cacheWrite1h = state.ephemeral1h
        parts.reasoning = state.thinking
        return parts
    }

    /// Whether a usage object has fields only Anthropic sends (the cache counts).
    static func hasCacheFields(_ object: [String: JSONValue]) -> Bool {
        object["cache_read_input_tokens"] != nil || object["cache_creation_input_tokens"] != nil
            || object["cache_creation"] != nil
    }

    /// A bare Anthropic usage object handed in directly.
    static func isBareUsage(_ object: [String: JSONValue]) -> Bool {
        object["input_tokens"] != nil && (object["output_tokens"] != nil || hasCacheFields(object))
    }

    private static func merge(_ usage: [String: JSONValue], at path: JSONPath, into state: inout State)
        throws(ExtractionError)
    {
        state.path = path
        if let value = try UsageCount.optional(usage, "input_tokens", at: path) { state.input = value }
        if let value = try UsageCount.optional(usage, "cache_read_input_tokens", at: path) { state.cacheRead = value }
        if let value = try UsageCount.optional(usage, "cache_creation_input_tokens", at: path) {
            state.cacheCreation = value
        }
        if let value = try UsageCount.optional(usage, "output_tokens", at: path) { state.output = value }
        if let sum = try ephemeralSum(usage, at: path) { state.ephemeral = sum }
        if let oneHour = try ephemeral1h(usage, at: path) { state.ephemeral1h = oneHour }
        if let details = try JSONAccess.object(usage, "output_tokens_details", at: path),
            let thinking = try UsageCount.optional(
                details, "thinking_tokens", at: path.appending("output_tokens_details"))
        {
            state.thinking = thinking
        }
        if let iterations = try JSONAccess.array(usage, "iterations", at: path), !iterations.isEmpty {
            state.iterations = try sum(iterations, at: path.appending("iterations"))
        }
    }

    /// The sum of `cache_creation.ephemeral_*_input_tokens`, or `nil` when none is reported.
    private static func ephemeralSum(_ usage: [String: JSONValue], at path: JSONPath) throws(ExtractionError) -> Int? {
        guard let creation = try JSONAccess.object(usage, "cache_creation", at: path) else { return nil }
        let creationPath = path.appending("cache_creation")
        var sum: Int?
        for key in creation.keys.sorted() where key.hasPrefix("ephemeral_") && key.hasSuffix("_input_tokens") {
            if let count = try UsageCount.optional(creation, key, at: creationPath) {
                sum = try UsageCount.add(sum ?? 0, count, at: creationPath, "cache_creation")
            }
        }
        return sum
    }

    /// `cache_creation.ephemeral_1h_input_tokens`, or `nil` when not reported.
    private static func ephemeral1h(_ usage: [String: JSONValue], at path: JSONPath) throws(ExtractionError) -> Int? {
        guard let creation = try JSONAccess.object(usage, "cache_creation", at: path) else { return nil }
        return try UsageCount.optional(creation, "ephemeral_1h_input_tokens", at: path.appending("cache_creation"))
    }

    /// Adds up every entry of `usage.iterations`, whatever its `type` (`message`, `compaction`,
    /// `advisor_message`, …): each one was billed.
    private static func sum(_ iterations: [JSONValue], at path: JSONPath) throws(ExtractionError) -> IterationTotals {
        var totals = IterationTotals(path: path)
        let what = "the sum over usage.iterations"
        for (i, element) in iterations.enumerated() {
            let entryPath = path.appending(index: i)
            guard case .object(let entry) = element else {
                throw ExtractionError(
                    .invalidValue, at: entryPath,
                    "expected an iteration usage object, found \(element.kindDescription)")
            }
            let uncached = try UsageCount.required(entry, "input_tokens", at: entryPath)
            let output = try UsageCount.required(entry, "output_tokens", at: entryPath)
            let cacheRead = try UsageCount.optional(entry, "cache_read_input_tokens", at: entryPath)
            var cacheWrite = try UsageCount.optional(entry, "cache_creation_input_tokens", at: entryPath)
            if cacheWrite == nil { cacheWrite = try ephemeralSum(entry, at: entryPath) }
            let cacheWrite1h = try ephemeral1h(entry, at: entryPath)
            var input = try UsageCount.add(uncached, cacheRead ?? 0, at: entryPath, "input_tokens plus cache reads")
            input = try UsageCount.add(
                input, cacheWrite ?? 0, at: entryPath, "input_tokens plus cache reads and writes")
            totals.input = try UsageCount.add(totals.input, input, at: path, what)
            totals.output = try UsageCount.add(totals.output, output, at: path, what)
            totals.cacheRead = try UsageCount.add(totals.cacheRead, cacheRead, at: path, what)
            totals.cacheWrite = try UsageCount.add(totals.cacheWrite, cacheWrite, at: path, what)
            totals.cacheWrite1h = try UsageCount.add(totals.cacheWrite1h, cacheWrite1h, at: path, what)
        }
        return totals
    }
}

import Foundation

/// Turns a raw provider response, or a recorded stream, into a normalized ``UsageRecord``.
///
/// ## Input
/// `extract(from:provider:)` accepts:
/// - one response JSON object;
/// - a JSON array of stream events, each the decoded `data:` payload (OpenAI's end marker may be
///   kept as the string `"[DONE]"`);
/// - SSE text (`event:`/`data:` lines, events separated by blank lines, `data: [DONE]`);
/// - NDJSON, one JSON object per line (Ollama streams).
///
/// Streams are aggregated per provider: the last usage chunk wins for OpenAI, Gemini, Bedrock,
/// Cohere and Ollama; Anthropic's `message_delta` fields overwrite earlier values (cumulative, never
/// summed); OpenAI Responses reads the terminal `response.completed`/`incomplete`/`failed` event;
/// LangChain chunks are deltas and are summed; Anthropic `usage.iterations` (compaction, advisor) are
/// summed over every iteration. The per-provider rules are documented on
/// ``Provider``'s cases and in `fixtures/usage/README.md`.
///
/// ## Auto-detection
/// With ``Provider/auto`` the first object (or stream event) with a recognisable shape decides, most
/// specific markers first: LangChain `usage_metadata`/`kwargs`/`type: ai`; Gemini `usageMetadata`/
/// `candidates`; event `type`s (`response.*` → Responses, `message_*`/`content_block_*` → Anthropic,
/// `message-end`… → Cohere); Bedrock event keys (`messageStart`, `metadata.usage.inputTokens`);
/// `object` (`response`, `chat.completion*`, `list`); then the keys inside `usage` (`prompt_tokens`
/// → OpenAI, `inputTokens` → Bedrock, `tokens` → Cohere, `input_tokens` → Anthropic or Responses);
/// then Ollama (`prompt_eval_count`, `done`), the aiecs dict (`tokens_used`, `prompt_tokens`), bare
/// usage objects, and OpenAI/Azure chunks without usage (`choices`, `prompt_filter_results`).
/// ``detectProvider(in:)`` exposes the decision.
///
/// ## Counts
/// ``UsageRecord/inputTokens`` includes cache reads and writes and ``UsageRecord/outputTokens``
/// includes reasoning, whatever the provider's own convention (xAI's reasoning outside
/// `completion_tokens` is added to the output when its `total_tokens` says so). A subset the response has no field
/// for is `nil`; a field that is present (even `0`) is a number. Every count must be a whole,
/// non-negative number up to 10^12 (a whole float such as `12.0` is accepted); subsets may not exceed
/// their parent.
///
/// ## Errors
/// Every failure is an ``ExtractionError`` whose ``ExtractionError/path`` locates the offending
/// value (`$[i]` is the i-th stream event) and whose message names that path. Nothing in here traps
/// on bad input.
///
/// ### Threading
/// Stateless; call it from any thread or task.
public enum UsageExtractor: Sendable {
    /// Extracts the normalized record from raw input bytes.
    ///
    /// - Parameters:
    ///   - data: A response object, a JSON array of stream events, SSE text or NDJSON.
    ///   - provider: The shape to read, or ``Provider/auto`` to recognise it.
    /// - Returns: The record, with source ``UsageRecord/Source/reported``; when the response reports
    ///   the output but not the input (Ollama without `prompt_eval_count`), input 0 with source
    ///   ``UsageRecord/Source/estimated`` (``ExtractedUsage/recordWithoutPromptEstimate``).
    /// - Throws: ``ExtractionError``; ``ExtractionError/Code/incompleteUsage`` when the response
    ///   gives no input/output split (use `extractUsage(from:provider:)` for those).
    public static func extract(from data: Data, provider: Provider = .auto) throws(ExtractionError) -> UsageRecord {
        try complete(run(decodeInput(data), provider: provider))
    }

    /// Extracts the normalized record from an already-parsed JSON value (a response object or an
    /// array of stream events).
    ///
    /// - Parameters:
    ///   - json: The parsed response or events.
    ///   - provider: The shape to read, or ``Provider/auto`` to recognise it.
    /// - Returns: The record, as `extract(from:provider:)` on bytes returns it.
    /// - Throws: ``ExtractionError``; ``ExtractionError/Code/incompleteUsage`` when the response
    ///   gives no input/output split.
    public static func extract(from json: JSONValue, provider: Provider = .auto) throws(ExtractionError) -> UsageRecord
    {
        try complete(run(json, provider: provider))
    }

    /// Extracts everything known about the usage from raw input bytes, including incomplete usage
    /// (only a total, or an unknown input count) that `extract(from:provider:)` refuses.
    ///
    /// - Parameters:
    ///   - data: A response object, a JSON array of stream events, SSE text or NDJSON.
    ///   - provider: The shape to read, or ``Provider/auto`` to recognise it.
    /// - Returns: The usage; check ``ExtractedUsage/record`` or call ``ExtractedUsage/resolved(promptEstimate:)``.
    /// - Throws: ``ExtractionError``.
    public static func extractUsage(from data: Data, provider: Provider = .auto) throws(ExtractionError)
        -> ExtractedUsage
    {
        try extractUsage(from: decodeInput(data), provider: provider)
    }

    /// Extracts everything known about the usage from a parsed JSON value, including incomplete usage.
    ///
    /// - Parameters:
    ///   - json: The parsed response or events.
    ///   - provider: The shape to read, or ``Provider/auto`` to recognise it.
    /// - Returns: The usage; check ``ExtractedUsage/record`` or call ``ExtractedUsage/resolved(promptEstimate:)``.
    /// - Throws: ``ExtractionError``.
    public static func extractUsage(from json: JSONValue, provider: Provider = .auto) throws(ExtractionError)
        -> ExtractedUsage
    {
        try run(json, provider: provider).usage
    }

    private static func run(
        _ json: JSONValue, provider: Provider
    ) throws(ExtractionError) -> (usage: ExtractedUsage, parts: UsageParts) {
        let events = try EventList(json)
        if events.isStream, events.items.isEmpty {
            throw ExtractionError(.noUsage, at: .root, "the stream has no events")
        }
        var resolvedProvider = provider
        if provider == .auto {
            guard let detected = ProviderDetection.detect(json) else {
                throw ExtractionError(
                    .unrecognizedShape, at: .root,
                    events.isStream
                        ? "none of the \(events.items.count) stream events has a known provider shape"
                        : "no known provider shape (no usage, usageMetadata, usage_metadata, prompt_eval_count, "
                            + "tokens_used or stream event type)")
            }
            resolvedProvider = detected
        }
        let parts: UsageParts
        switch resolvedProvider {
        case .auto, .openai, .openaiEmbeddings, .mistral: parts = try OpenAIChatReader.read(events)
        case .openaiResponses: parts = try OpenAIResponsesReader.read(events)
        case .anthropic: parts = try AnthropicReader.read(events)
        case .gemini: parts = try GeminiReader.read(events)
        case .bedrock: parts = try BedrockReader.read(events)
        case .ollama: parts = try OllamaReader.read(events)
        case .cohere: parts = try CohereReader.read(events)
        case .langchain: parts = try LangChainReader.read(events)
        case .aiecs: parts = try AIECSReader.read(events)
        }
        let checked = try parts.validated()
        let usage = ExtractedUsage(
            provider: resolvedProvider,
            model: model(in: events),
            inputTokens: checked.input,
            outputTokens: checked.output,
            cachedInputTokens: checked.cached,
            cacheWriteTokens: checked.cacheWrite,
            cacheWrite1hTokens: checked.cacheWrite1h,
            reasoningTokens: checked.reasoning,
            onlyTotal: checked.onlyTotal,
            billedInputTokens: checked.billedInput,
            billedOutputTokens: checked.billedOutput,
            reportedCost: checked.reportedCost
        )
        return (usage, checked)
    }

    /// Decodes raw input into one JSON value: the response object, or an array of stream events
    /// (from a JSON array, NDJSON lines or SSE text; `data: [DONE]` becomes the string `"[DONE]"`).
    ///
    /// - Parameter data: The raw input.
    /// - Returns: The parsed value.
    /// - Throws: ``ExtractionError`` with code ``ExtractionError/Code/malformedJSON``, naming the
    ///   path, the line and the column (for SSE and NDJSON, the path starts at the event, `$[i]`).
    public static func decodeInput(_ data: Data) throws(ExtractionError) -> JSONValue {
        try InputDecoder.decode(Array(data))
    }

    /// The provider whose shape `json` has, or `nil` when none matches (the ``Provider/auto`` rule).
    ///
    /// OpenAI-compatible shapes (Azure, Mistral) are reported as ``Provider/openai`` (or
    /// ``Provider/openaiEmbeddings``); a plain `{input_tokens, output_tokens}` usage is reported as
    /// ``Provider/anthropic``, which reads it the same way the Responses API would.
    ///
    /// - Parameter json: A response object or an array of stream events.
    /// - Returns: The recognised provider.
    public static func detectProvider(in json: JSONValue) -> Provider? {
        ProviderDetection.detect(json)
    }

    private static func complete(_ result: (usage: ExtractedUsage, parts: UsageParts)) throws(ExtractionError)
        -> UsageRecord
    {
        if let record = result.usage.recordWithoutPromptEstimate { return record }
        let (path, detail) = result.parts.unknownReason ?? (result.parts.path, "the input or output count is unknown")
        throw ExtractionError(
            .incompleteUsage, at: path,
            "\(detail); use UsageExtractor.extractUsage(from:provider:) and "
                + "ExtractedUsage.resolved(promptEstimate:) to complete it with a prompt estimate")
    }

    /// The first non-empty model name in the response or events.
    private static func model(in events: EventList) -> String? {
        for (object, _) in events.items {
            if let name = modelName(object) { return name }
        }
        return nil
    }

    private static func modelName(_ o: [String: JSONValue]) -> String? {
        func nonEmpty(_ value: JSONValue?) -> String? {
            guard let text = value?.stringValue, !text.isEmpty else { return nil }
            return text
        }
        if let name = nonEmpty(o["model"]) ?? nonEmpty(o["modelVersion"]) ?? nonEmpty(o["model_version"]) {
            return name
        }
        for key in ["message", "response"] {
            if let name = nonEmpty(o[key]?["model"]) { return name }
        }
        for metadata in [o["response_metadata"], o["kwargs"]?["response_metadata"]] {
            if let name = nonEmpty(metadata?["model_name"]) ?? nonEmpty(metadata?["model"]) { return name }
        }
        return nil
    }
}

/// Recognises a provider from the shape of a response object or stream event.
///
/// Checks run from the most specific markers to the most generic, and stop at the first match:
/// 1. LangChain: `usage_metadata` with `input_tokens`/`output_tokens`, `kwargs.usage_metadata`
///    (`dumpd`), or `type` `ai`/`AIMessage`/`AIMessageChunk`.
/// 2. Gemini: `usageMetadata`, `candidates`, `promptFeedback`, or snake_case `usage_metadata` with
///    `prompt_token_count`/`candidates_token_count`.
/// 3. Event tags: `type` `response.*` → OpenAI Responses; `message_start`, `message_delta`,
///    `content_block_*`, `message`, `ping`… → Anthropic; `message-end`, `content-delta`… or v1
///    `event_type` → Cohere.
/// 4. Bedrock stream event keys (`messageStart`, `contentBlockDelta`, `messageStop`, …, or
///    `metadata.usage`), and Bedrock's `ResponseMetadata` + `output` + `stopReason`.
/// 5. `object`: `response` → Responses; `chat.completion*`/`text_completion` → OpenAI; `list` → Embeddings.
/// 6. The keys of `usage`: `prompt_tokens` → OpenAI (Embeddings without `completion_tokens`);
///    `inputTokens` → Bedrock; `tokens`/`billed_units` → Cohere; `input_tokens` with Anthropic cache
///    fields, `thinking_tokens`, `server_tool_use`, `service_tier` or `iterations` → Anthropic; with
///    `input_tokens_details`/`output_tokens_details`/`total_tokens` → Responses; a plain
///    `{input_tokens, output_tokens}` → Anthropic (both APIs read it the same way).
/// 7. Ollama: `prompt_eval_count`, `eval_count`, or a `done` flag with `created_at`/`model`.
/// 8. aiecs: top-level `tokens_used`, `prompt_tokens` or `completion_tokens`.
/// 9. A bare usage object (classified as in step 6), Cohere v1 `meta.tokens`/`meta.billed_units`,
///    and finally `choices`/`prompt_filter_results` (an OpenAI or Azure chunk without usage).
///
/// For a stream, the first event that matches decides.
enum ProviderDetection {
    static let anthropicTypes: Set<String> = [
        "message", "message_start", "message_delta", "message_stop", "content_block_start",
        "content_block_delta", "content_block_stop", "ping",
    ]
    static let cohereTypes: Set<String> = [
        "message-start", "message-end", "content-start", "content-delta", "content-end", "tool-plan-delta",
        "tool-call-start", "tool-call-delta", "tool-call-end", "citation-start", "citation-end",
    ]
    static let bedrockEventKeys = [
        "messageStart", "messageStop", "contentBlockStart", "contentBlockDelta", "contentBlockStop",
    ]
    static let langChainTypes: Set<String> = ["ai", "AIMessage", "AIMessageChunk"]

    static func detect(_ json: JSONValue) -> Provider? {
        switch json {
        case .object(let object):
            return detect(object: object)
        case .array(let elements):
            for element in elements {
                if case .object(let object) = element, let provider = detect(object: object) { return provider }
            }
            return nil
        default:
            return nil
        }
    }

    static func detect(object o: [String: JSONValue]) -> Provider? {
        // 1. LangChain
        if let usage = o["usage_metadata"]?.objectValue, usage["input_tokens"] != nil || usage["output_tokens"] != nil {
            return .langchain
        }
        if o["kwargs"]?.objectValue?["usage_metadata"] != nil { return .langchain }
        if let type = o["type"]?.stringValue, langChainTypes.contains(type) { return .langchain }

        // 2. Gemini
        if o["usageMetadata"] != nil || o["candidates"] != nil || o["promptFeedback"] != nil { return .gemini }
        if let usage = o["usage_metadata"]?.objectValue, GeminiReader.isBareUsage(usage) { return .gemini }

        // 3. Tagged events
        if let type = o["type"]?.stringValue {
            if type.hasPrefix("response.") { return .openaiResponses }
            if anthropicTypes.contains(type) { return .anthropic }
            if cohereTypes.contains(type) { return .cohere }
        }
        if o["event_type"]?.stringValue != nil { return .cohere }

        // 4. Bedrock
        if bedrockEventKeys.contains(where: { o[$0] != nil }) { return .bedrock }
        if let metadata = o["metadata"]?.objectValue, let usage = metadata["usage"]?.objectValue,
            BedrockReader.isBareUsage(usage)
        {
            return .bedrock
        }
        if o["ResponseMetadata"] != nil, o["stopReason"] != nil { return .bedrock }

        // 5. Object tags
        if let object = o["object"]?.stringValue {
            if object == "response" { return .openaiResponses }
            if object.hasPrefix("chat.completion") || object == "text_completion" { return .openai }
            if object == "list", o["data"] != nil { return .openaiEmbeddings }
        }

        // 6. The usage object's keys
        if let usage = o["usage"]?.objectValue, let provider = classify(usage: usage) { return provider }

        // 7. Ollama
        if o["prompt_eval_count"] != nil || o["eval_count"] != nil { return .ollama }
        if o["done"]?.boolValue != nil, o["created_at"] != nil || o["model"] != nil { return .ollama }

        // 8. aiecs
        if o["tokens_used"] != nil || o["prompt_tokens"] != nil || o["completion_tokens"] != nil { return .aiecs }

        // 9. Bare usage, Cohere v1, OpenAI chunks without usage
        if let provider = classify(usage: o) { return provider }
        if let meta = o["meta"]?.objectValue, meta["tokens"] != nil || meta["billed_units"] != nil { return .cohere }
        if o["choices"] != nil || o["prompt_filter_results"] != nil { return .openai }
        return nil
    }

    /// Classifies a usage object by its keys.
    static func classify(usage u: [String: JSONValue]) -> Provider? {
        if u["prompt_tokens"] != nil { return u["completion_tokens"] == nil ? .openaiEmbeddings : .openai }
        if u["inputTokens"] != nil || u["outputTokens"] != nil { return .bedrock }
        if CohereReader.isBareUsage(u) { return .cohere }
        if u["input_tokens"] != nil || u["output_tokens"] != nil {
            if u["input_token_details"] != nil || u["output_token_details"] != nil { return .langchain }
            let thinking = u["output_tokens_details"]?.objectValue?["thinking_tokens"] != nil
            if AnthropicReader.hasCacheFields(u) || thinking || u["server_tool_use"] != nil || u["service_tier"] != nil
                || u["iterations"] != nil
            {
                return .anthropic
            }
            if u["input_tokens_details"] != nil || u["output_tokens_details"] != nil || u["total_tokens"] != nil {
                return .openaiResponses
            }
            return .anthropic
        }
        if GeminiReader.isBareUsage(u) { return .gemini }
        return nil
    }
}

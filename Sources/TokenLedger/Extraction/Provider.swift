import Foundation

/// The response shape ``UsageExtractor`` should read, or ``auto`` to recognise it.
///
/// Raw values are the names the CLI accepts (`--provider openai-responses`); ``init(name:)`` also
/// accepts common aliases.
public enum Provider: String, Sendable, Hashable, CaseIterable, Codable {
    /// Recognise the shape (see ``UsageExtractor``).
    case auto
    /// OpenAI Chat Completions and legacy Completions, Azure OpenAI, and other OpenAI-compatible
    /// servers: `usage.prompt_tokens` (cache included), `usage.completion_tokens` (reasoning included;
    /// xAI's reasoning outside it is added when `total_tokens` shows it).
    case openai
    /// OpenAI Responses API: `usage.input_tokens`/`output_tokens`; in a stream the terminal
    /// `response.completed`, `response.incomplete` or `response.failed` event.
    case openaiResponses = "openai-responses"
    /// OpenAI Embeddings: `usage.prompt_tokens`, no output (read like ``openai``).
    case openaiEmbeddings = "openai-embeddings"
    /// Anthropic Messages: `usage.input_tokens` excludes cache reads and writes, which are added.
    case anthropic
    /// Google Gemini / Vertex AI `generateContent`: `usageMetadata` (or snake_case `usage_metadata`).
    case gemini
    /// AWS Bedrock Converse / ConverseStream: `usage.inputTokens` excludes cache reads and writes.
    case bedrock
    /// Ollama `/api/chat`, `/api/generate`, `/api/embed`: `prompt_eval_count`, `eval_count`.
    case ollama
    /// Mistral chat (OpenAI-like `usage`; read like ``openai``).
    case mistral
    /// Cohere v2 chat: `usage.tokens` (processed), `usage.cached_tokens`; v1 `meta` is read too.
    case cohere
    /// LangChain `AIMessage.usage_metadata` (chunks are deltas and are summed).
    case langchain
    /// The aiecs seed's dict: `prompt_tokens`, `completion_tokens`, `tokens_used` at the top level.
    case aiecs

    /// Parses a provider name: a raw value or an alias (case-insensitive; `_` and `-` are interchangeable).
    ///
    /// Aliases: `azure`, `azure-openai`, `openai-chat`, `openai-chat-completions`, `chat-completions`,
    /// `xai`, `grok` → ``openai``; `responses` → ``openaiResponses``; `embeddings` → ``openaiEmbeddings``;
    /// `anthropic-messages`, `claude` → ``anthropic``; `google`, `vertex`, `vertexai`,
    /// `gemini-generate-content` → ``gemini``; `bedrock-converse`, `aws` → ``bedrock``;
    /// `ollama-chat` → ``ollama``; `mistral-chat` → ``mistral``; `cohere-chat`, `cohere-chat-v2`
    /// → ``cohere``; `langchain-usage-metadata`, `usage-metadata` → ``langchain``; `seed` → ``aiecs``.
    ///
    /// - Parameter name: The name to parse.
    public init?(name: String) {
        let key = name.lowercased().replacingOccurrences(of: "_", with: "-")
        if let exact = Provider(rawValue: key) {
            self = exact
            return
        }
        switch key {
        case "azure", "azure-openai", "openai-chat", "openai-chat-completions", "chat-completions", "openai-compatible",
            "xai", "x-ai", "grok":
            self = .openai
        case "responses", "openai-response":
            self = .openaiResponses
        case "embeddings", "openai-embedding":
            self = .openaiEmbeddings
        case "anthropic-messages", "claude":
            self = .anthropic
        case "google", "vertex", "vertexai", "vertex-ai", "gemini-generate-content", "google-genai":
            self = .gemini
        case "bedrock-converse", "aws", "aws-bedrock":
            self = .bedrock
        case "ollama-chat", "ollama-generate":
            self = .ollama
        case "mistral-chat", "mistralai":
            self = .mistral
        case "cohere-chat", "cohere-chat-v2", "cohere-v2":
            self = .cohere
        case "langchain-usage-metadata", "usage-metadata":
            self = .langchain
        case "seed":
            self = .aiecs
        default:
            return nil
        }
    }
}

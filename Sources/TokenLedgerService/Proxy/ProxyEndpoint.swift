import TokenLedger

/// One proxied provider endpoint: where the client calls it, where it is forwarded, and how its
/// request and usage read.
enum ProxyEndpoint: String, CaseIterable, Sendable {
    /// OpenAI Chat Completions.
    case chatCompletions = "chat_completions"
    /// OpenAI Responses.
    case responses
    /// OpenAI Embeddings.
    case embeddings
    /// Anthropic Messages.
    case messages

    /// The prefix of every proxy route.
    static let prefix = "/proxy/"

    /// The provider it forwards to.
    var provider: ProxyProvider {
        switch self {
        case .chatCompletions, .responses, .embeddings: .openai
        case .messages: .anthropic
        }
    }

    /// The path after the provider's base URL (which ends in `/v1`).
    var upstreamSuffix: String {
        switch self {
        case .chatCompletions: "/chat/completions"
        case .responses: "/responses"
        case .embeddings: "/embeddings"
        case .messages: "/messages"
        }
    }

    /// The service's route: `/proxy/openai/v1/chat/completions`, …
    var routePath: String { "\(Self.prefix)\(provider.rawValue)/v1\(upstreamSuffix)" }

    /// The response shape the extractor reads the usage of.
    var usageShape: Provider {
        switch self {
        case .chatCompletions: .openai
        case .responses: .openaiResponses
        case .embeddings: .openaiEmbeddings
        case .messages: .anthropic
        }
    }

    /// The provider name stored with the usage (`openai`, `anthropic`).
    var providerName: String { provider.rawValue }
}

/// The provider behind a proxy route: its key header and its error shape.
enum ProxyProvider: String, Sendable {
    /// OpenAI (and OpenAI-compatible servers).
    case openai
    /// Anthropic.
    case anthropic

    /// The base URL of its upstream in `configuration`.
    func upstream(in configuration: ProxyConfiguration) -> String {
        switch self {
        case .openai: configuration.openAIUpstream
        case .anthropic: configuration.anthropicUpstream
        }
    }

    /// The key sent upstream, from `configuration`.
    func key(in configuration: ProxyConfiguration) -> ProviderKey? {
        switch self {
        case .openai: configuration.openAIKey
        case .anthropic: configuration.anthropicKey
        }
    }
}

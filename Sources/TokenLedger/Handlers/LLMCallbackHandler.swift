import Foundation

/// Who made an LLM call and which call it is, passed to every callback.
public struct LLMCallContext: Sendable, Hashable {
    /// The call's id. Handlers key their per-call state by it, and record with it as the call id, so a
    /// retried or replayed call is counted once. Reuse it when you retry the same logical call.
    public var runID: String
    /// The id of the enclosing run (a chain or agent step), if any.
    public var parentRunID: String?
    /// The user the call is billed to.
    public var user: String
    /// The provider (`openai`, `anthropic`, …); also picks how a raw response is read.
    public var provider: String
    /// The model name.
    public var model: String
    /// Free-form metadata (not stored).
    public var metadata: [String: String]

    /// Creates a context; `runID` defaults to a new UUID.
    public init(
        runID: String = UUID().uuidString.lowercased(), parentRunID: String? = nil, user: String,
        provider: String = "", model: String = "", metadata: [String: String] = [:]
    ) {
        self.runID = runID
        self.parentRunID = parentRunID
        self.user = user
        self.provider = provider
        self.model = model
        self.metadata = metadata
    }
}

/// What an LLM call returned, as far as usage is concerned. Give whatever you have: a normalized
/// record, the provider's raw response (JSON, stream events or SSE), a total only, or just the text.
public struct LLMResponse: Sendable, Hashable {
    /// Usage already normalized by the caller.
    public var usage: UsageRecord?
    /// The provider's raw response body, read with ``UsageExtractor``.
    public var raw: Data?
    /// A total with no split (the seed's `tokens_used`).
    public var totalTokens: Int?
    /// The completion text, used to estimate output when nothing else is reported.
    public var text: String?

    /// Creates a response description.
    public init(usage: UsageRecord? = nil, raw: Data? = nil, totalTokens: Int? = nil, text: String? = nil) {
        self.usage = usage
        self.raw = raw
        self.totalTokens = totalTokens
        self.text = text
    }
}

/// Callbacks around an LLM call, mirroring the seed's `on_llm_start` / `on_llm_end` / `on_llm_error`,
/// plus `onLLMNewToken` for streams. Every method has a no-op default, so a handler implements
/// only what it needs.
///
/// A handler may throw; ``CompositeCallbackHandler`` isolates such failures from other handlers and
/// from the call. TokenLedger's own handlers never throw.
public protocol LLMCallbackHandler: Sendable {
    /// Called before the request is sent, with the prompt messages.
    func onLLMStart(messages: [ChatMessage], context: LLMCallContext) async throws
    /// Called for each streamed token or chunk of text.
    func onLLMNewToken(_ token: String, context: LLMCallContext) async throws
    /// Called when the call finished with a response.
    func onLLMEnd(response: LLMResponse, context: LLMCallContext) async throws
    /// Called when the call failed.
    func onLLMError(_ error: any Error, context: LLMCallContext) async throws
}

extension LLMCallbackHandler {
    /// Does nothing.
    public func onLLMStart(messages: [ChatMessage], context: LLMCallContext) async throws {}
    /// Does nothing.
    public func onLLMNewToken(_ token: String, context: LLMCallContext) async throws {}
    /// Does nothing.
    public func onLLMEnd(response: LLMResponse, context: LLMCallContext) async throws {}
    /// Does nothing.
    public func onLLMError(_ error: any Error, context: LLMCallContext) async throws {}
}

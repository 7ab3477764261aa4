import Foundation

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

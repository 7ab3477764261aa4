import BytePairEncoding

/// Counts, exactly or approximately, the tokens a model would see.
///
/// Conforming types provide `countTokens(in:)` for a `String`; the variant
/// for `[ChatMessage]` has a default implementation that adds
/// the chat format's fixed overhead (see ``ChatMessageOverhead``) to the
/// counts of each message's role, content and name.
///
/// Implementations must be deterministic: the same input always yields the
/// same count. They return `0` for empty text and at least `1` otherwise.
public protocol TokenEstimator: Sendable {
    /// The number of tokens `text` encodes to, or an estimate of it.
    ///
    /// - Parameter text: Any text; no special tokens are recognised in it.
    /// - Returns: `0` for empty text, otherwise a count of at least `1`.
    func countTokens(in text: String) -> Int

    /// The number of prompt tokens a chat request with these messages uses,
    /// or an estimate of it, including the chat format's overhead.
    ///
    /// - Parameter messages: The conversation, in order.
    /// - Returns: The token count of the prompt, reply priming included.
    func countTokens(in messages: [ChatMessage]) -> Int
}

/// The fixed token overhead of the OpenAI chat format, as documented in
/// OpenAI's cookbook ("How to count tokens with tiktoken") for the GPT-3.5
/// Turbo, GPT-4 and GPT-4o model families.
///
/// Every message is wrapped as `<|start|>{role or name}\n{content}<|end|>\n`,
/// which the cookbook counts as ``tokensPerMessage`` plus the tokens of the
/// role and content; a `name` adds ``tokensPerName`` plus its own tokens;
/// and every reply is primed with `<|start|>assistant<|message|>`, which
/// adds ``replyPriming`` once per request.
public enum ChatMessageOverhead {
    /// Tokens added for each message (its framing), besides role and content.
    public static let tokensPerMessage = ChatFormat.openAI.tokensPerMessage
    /// Tokens added when a message carries a `name`, besides the name itself.
    public static let tokensPerName = ChatFormat.openAI.tokensPerName
    /// Tokens added once per request for the primed assistant reply.
    public static let replyPriming = ChatFormat.openAI.replyPriming
}

extension TokenEstimator {
    /// Counts a conversation as OpenAI's cookbook does:
    /// `3` per message + tokens of role and content, `1` + tokens of the name
    /// when present, and `3` for the reply priming (see ``ChatMessageOverhead``).
    ///
    /// An empty conversation counts `3` (the reply priming alone).
    ///
    /// - Parameter messages: The conversation, in order.
    /// - Returns: The prompt's token count, overhead included.
    public func countTokens(in messages: [ChatMessage]) -> Int {
        var total = ChatMessageOverhead.replyPriming
        for message in messages {
            total += ChatMessageOverhead.tokensPerMessage
            total += countTokens(in: message.role)
            total += countTokens(in: message.content)
            if let name = message.name {
                total += ChatMessageOverhead.tokensPerName + countTokens(in: name)
            }
        }
        return total
    }
}

import BytePairEncoding

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

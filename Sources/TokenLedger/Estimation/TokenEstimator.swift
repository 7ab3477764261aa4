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

    /// The count to *reserve* quota with before a call: the count with a safety margin when it is an
    /// estimate, so a reservation is rarely short (see ``ReservationMargin``). Never below
    /// `countTokens(in:)` of the text; exact counters return that count.
    ///
    /// - Parameter text: Any text.
    /// - Returns: `0` for empty text, otherwise at least `countTokens(in:)` of the text.
    func reservationCount(in text: String) -> Int
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

    /// The count itself: exact counters need no margin.
    public func reservationCount(in text: String) -> Int { countTokens(in: text) }

    /// Counts a conversation as `countTokens(in:)` of the messages does, each role, content and name with
    /// `reservationCount(in:)`: what ``QuotaGuard`` reserves for the prompt.
    ///
    /// - Parameter messages: The conversation, in order.
    /// - Returns: At least `countTokens(in:)` of the messages.
    public func reservationCount(in messages: [ChatMessage]) -> Int {
        var total = ChatMessageOverhead.replyPriming
        for message in messages {
            total += ChatMessageOverhead.tokensPerMessage
            total += reservationCount(in: message.role)
            total += reservationCount(in: message.content)
            if let name = message.name {
                total += ChatMessageOverhead.tokensPerName + reservationCount(in: name)
            }
        }
        return total
    }
}

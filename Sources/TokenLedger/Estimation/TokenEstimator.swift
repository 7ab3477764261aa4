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

    /// `countTokens(in:)` and `reservationCount(in:)` of `text` together, in one pass over the
    /// text where the estimator can: what a caller that bills an estimate and reserves before the
    /// call (the proxy) needs, without counting the text twice.
    ///
    /// - Parameter text: Any text.
    /// - Returns: The count and the reservation count, as the two methods give them.
    func countAndReservation(in text: String) -> (count: Int, reservation: Int)
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

    /// The two counts, each by its method (two passes; estimators that can do better override it).
    public func countAndReservation(in text: String) -> (count: Int, reservation: Int) {
        (countTokens(in: text), reservationCount(in: text))
    }

    /// `countTokens(in:)` and `reservationCount(in:)` of a conversation together, each text counted
    /// once (by `countAndReservation(in:)` of the text).
    ///
    /// - Parameter messages: The conversation, in order.
    /// - Returns: The prompt's count and its reservation count, overhead included in both.
    public func countAndReservation(in messages: [ChatMessage]) -> (count: Int, reservation: Int) {
        var count = ChatMessageOverhead.replyPriming
        var reservation = count
        func add(_ text: String) {
            let counted = countAndReservation(in: text)
            count += counted.count
            reservation += counted.reservation
        }
        for message in messages {
            count += ChatMessageOverhead.tokensPerMessage
            reservation += ChatMessageOverhead.tokensPerMessage
            add(message.role)
            add(message.content)
            if let name = message.name {
                count += ChatMessageOverhead.tokensPerName
                reservation += ChatMessageOverhead.tokensPerName
                add(name)
            }
        }
        return (count, reservation)
    }

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

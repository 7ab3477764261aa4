/// One chat message, as sent to a chat-completions API.
public struct ChatMessage: Sendable, Hashable, Codable {
    /// The author's role: `system`, `user`, `assistant`, `tool`, …
    public var role: String
    /// The message text.
    public var content: String
    /// The optional participant name.
    public var name: String?

    /// Creates a message.
    ///
    /// - Parameters:
    ///   - role: The author's role.
    ///   - content: The message text.
    ///   - name: The optional participant name.
    public init(role: String, content: String, name: String? = nil) {
        self.role = role
        self.content = content
        self.name = name
    }
}

/// The fixed token overhead of the chat format around the messages' text.
///
/// The defaults are the ones OpenAI documents for its current chat models: 3 tokens per
/// message, 1 more when a message has a name, and 3 that prime the reply
/// (`<|start|>assistant<|message|>`).
public struct ChatFormat: Sendable, Hashable {
    /// Tokens added for each message (default 3).
    public var tokensPerMessage: Int
    /// Tokens added for each message that has a name (default 1).
    public var tokensPerName: Int
    /// Tokens added once for the primed reply (default 3).
    public var replyPriming: Int

    /// Creates a format; the defaults are OpenAI's documented overheads.
    ///
    /// - Parameters:
    ///   - tokensPerMessage: Tokens added for each message.
    ///   - tokensPerName: Tokens added for each message that has a name.
    ///   - replyPriming: Tokens added once for the primed reply.
    public init(tokensPerMessage: Int = 3, tokensPerName: Int = 1, replyPriming: Int = 3) {
        self.tokensPerMessage = tokensPerMessage
        self.tokensPerName = tokensPerName
        self.replyPriming = replyPriming
    }

    /// OpenAI's documented overheads: 3 per message, 1 per name, 3 for the reply.
    public static let openAI = ChatFormat()
}

extension BytePairEncoder {
    /// The number of prompt tokens a list of chat messages takes, the way OpenAI's cookbook
    /// counts them: for each message the format's overhead plus the tokens of its role, content
    /// and name (plus the name overhead when there is one), then the reply priming once.
    ///
    /// Special-token text in the messages counts as ordinary text.
    ///
    /// - Parameters:
    ///   - messages: The messages, in order.
    ///   - format: The per-message overheads; defaults to ``ChatFormat/openAI``.
    public func countChat(_ messages: [ChatMessage], format: ChatFormat = .openAI) -> Int {
        var total = format.replyPriming
        for message in messages {
            total += format.tokensPerMessage + count(message.role) + count(message.content)
            if let name = message.name {
                total += format.tokensPerName + count(name)
            }
        }
        return total
    }
}

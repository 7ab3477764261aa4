/// One message of a chat-completion conversation, as far as token counting
/// needs it.
///
/// The fields mirror the OpenAI chat message object: `role` (`"system"`,
/// `"user"`, `"assistant"`, `"tool"`, …), the text `content`, and an optional
/// participant `name`. Encoded with `Codable`, a message has the same keys
/// as the API's JSON (`role`, `content`, `name`; `name` omitted when `nil`).
///
/// ```swift
/// let messages = [
///     ChatMessage(role: "system", content: "You are terse."),
///     ChatMessage(role: "user", content: "Summarise this invoice.", name: "alice"),
/// ]
/// let tokens = HeuristicTokenEstimator().countTokens(in: messages)
/// ```
public struct ChatMessage: Sendable, Hashable, Codable {
    /// The author's role, such as `"system"`, `"user"` or `"assistant"`.
    public var role: String
    /// The text of the message.
    public var content: String
    /// An optional participant name; it costs extra tokens when present.
    public var name: String?

    /// Creates a chat message.
    ///
    /// - Parameters:
    ///   - role: The author's role, such as `"user"`.
    ///   - content: The text of the message.
    ///   - name: An optional participant name.
    public init(role: String, content: String, name: String? = nil) {
        self.role = role
        self.content = content
        self.name = name
    }
}

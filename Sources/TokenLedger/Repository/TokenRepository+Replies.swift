import RedisClient

// TokenRepository: reading command replies (scripts' replies are read by ScriptReply).
extension TokenRepository {
    /// A command reply of a shape the command never returns (see ``ScriptReply/unexpected(_:what:)``).
    static func unexpected(_ reply: RedisReply, what: String) -> Error {
        ScriptReply.unexpected(reply, what: what)
    }
}

/// A reply from Redis, copied out of hiredis's reply object.
///
/// Values are owned Swift values: nothing here points into C memory.
public enum RedisReply: Sendable, Hashable {
    /// A simple string (`+OK`).
    case status(String)
    /// A bulk string, binary-safe.
    case bulk([UInt8])
    /// An integer.
    case integer(Int64)
    /// A nil bulk string or nil array.
    case null
    /// An array of replies.
    case array([RedisReply])
    /// An error reply. Inside a pipeline each command keeps its own error; ``RedisConnection/send(_:)``
    /// throws it instead.
    case error(RedisError)

    /// The reply as UTF-8 text, for status and bulk replies (invalid UTF-8 is repaired); `nil` otherwise.
    public var string: String? {
        switch self {
        case .status(let s): return s
        case .bulk(let bytes): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    /// The reply's bytes, for bulk and status replies; `nil` otherwise.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let bytes): return bytes
        case .status(let s): return Array(s.utf8)
        default: return nil
        }
    }

    /// The reply as an integer: integer replies, and bulk/status replies holding a decimal integer.
    public var int: Int64? {
        switch self {
        case .integer(let i): return i
        case .bulk, .status: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    /// The elements of an array reply; `nil` otherwise.
    public var array: [RedisReply]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// Whether this is the nil reply.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The reply itself, or the error it carries thrown.
    public func throwingError() throws(RedisError) -> RedisReply {
        if case .error(let error) = self { throw error }
        return self
    }

    /// The replies with each error reply naming the command it answers (its name only, never its
    /// arguments: they hold user ids and keys).
    static func naming(_ replies: [RedisReply], after commands: [RedisCommand]) -> [RedisReply] {
        guard replies.contains(where: { if case .error = $0 { true } else { false } }) else { return replies }
        return zip(replies, commands).map { reply, command in
            guard case .error(var error) = reply, error.command == nil else { return reply }
            error.command = command.name
            return .error(error)
        }
    }
}

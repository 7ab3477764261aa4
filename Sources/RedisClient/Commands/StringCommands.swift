// Typed string commands: GET, SET.

/// `GET key`: the value as text, `nil` when the key is absent.
public struct GET: RedisCommandRepresentable {
    /// `GET`.
    public static let name = "GET"
    /// The key read.
    public var key: RedisKey

    /// Reads the string at `key`.
    public init(_ key: some RedisKeyConvertible) { self.key = key.redisKey }

    /// The key read.
    public var keys: [RedisKey] { [key] }
    /// Read-only.
    public var isReadOnly: Bool { true }
    /// `GET key`.
    public var command: RedisCommand { RedisCommand("GET", key) }
    /// The value as text (invalid UTF-8 repaired), or `nil`.
    ///
    /// - Throws: ``RedisError`` (``RedisError/Code/protocolError``) for anything but a bulk string or nil.
    public func decode(_ reply: RedisReply) throws(RedisError) -> String? { try optionalString(reply) }
}

/// `SET key value`: stores a string, replacing any value.
public struct SET: RedisCommandRepresentable {
    /// `SET`.
    public static let name = "SET"
    /// The key written.
    public var key: RedisKey
    /// The value, binary-safe.
    public var value: [UInt8]

    /// Stores `value` at `key`.
    public init(_ key: some RedisKeyConvertible, value: some RedisArgumentConvertible) {
        self.key = key.redisKey
        self.value = value.redisArgument
    }

    /// The key written.
    public var keys: [RedisKey] { [key] }
    /// `SET key value`.
    public var command: RedisCommand { RedisCommand("SET", key, value) }
    /// Nothing: the reply is `OK`.
    ///
    /// - Throws: ``RedisError`` (``RedisError/Code/protocolError``) for anything but `OK`.
    public func decode(_ reply: RedisReply) throws(RedisError) {
        guard case .status("OK") = reply else { throw unexpectedReply(reply, expected: "OK") }
    }
}

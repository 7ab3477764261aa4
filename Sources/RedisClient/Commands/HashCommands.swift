// Typed hash commands: HGET, HMGET, HGETALL, HLEN, HDEL.

/// `HGET key field`: the field's value as text, `nil` when the field or the key is absent.
public struct HGET: RedisCommandRepresentable {
    /// `HGET`.
    public static let name = "HGET"
    /// The hash.
    public var key: RedisKey
    /// The field read, as bytes (a field need not be text).
    public var fieldBytes: [UInt8]
    /// The field read, as text.
    public var field: String {
        get { String(decoding: fieldBytes, as: UTF8.self) }
        set { fieldBytes = Array(newValue.utf8) }
    }

    /// Reads `field` of the hash at `key`.
    public init(_ key: some RedisKeyConvertible, field: String) {
        self.key = key.redisKey
        self.fieldBytes = Array(field.utf8)
    }

    /// Reads a binary field of the hash at `key`.
    public init(_ key: some RedisKeyConvertible, fieldBytes: [UInt8]) {
        self.key = key.redisKey
        self.fieldBytes = fieldBytes
    }

    /// The hash.
    public var keys: [RedisKey] { [key] }
    /// Read-only.
    public var isReadOnly: Bool { true }
    /// `HGET key field`.
    public var command: RedisCommand { RedisCommand("HGET", key, fieldBytes) }
    /// The value as text, or `nil`.
    public func decode(_ reply: RedisReply) throws(RedisError) -> String? { try optionalString(reply) }
}

/// `HMGET key field…`: the fields' values by field name; absent fields are not in the dictionary,
/// so callers read values by name, never by position.
public struct HMGET: RedisCommandRepresentable {
    /// `HMGET`.
    public static let name = "HMGET"
    /// The hash.
    public var key: RedisKey
    /// The fields read (at least one).
    public var fields: [String]

    /// Reads `fields` of the hash at `key`.
    public init(_ key: some RedisKeyConvertible, fields: [String]) {
        self.key = key.redisKey
        self.fields = fields
    }

    /// The hash.
    public var keys: [RedisKey] { [key] }
    /// Read-only.
    public var isReadOnly: Bool { true }
    /// `HMGET key field…`.
    public var command: RedisCommand { RedisCommand("HMGET", key: key, fields) }

    /// The present fields' values as text, by field name.
    ///
    /// - Throws: ``RedisError`` (``RedisError/Code/protocolError``) unless the reply is an array
    ///   with one bulk string or nil per field.
    public func decode(_ reply: RedisReply) throws(RedisError) -> [String: String] {
        let values = try elements(reply)
        guard values.count == fields.count else {
            throw unexpectedReply(reply, expected: "an array of \(fields.count)")
        }
        var result: [String: String] = [:]
        for (field, value) in zip(fields, values) {
            switch value {
            case .null: continue
            case .bulk, .status: result[field] = value.string
            default: throw unexpectedReply(reply, expected: "bulk strings or nil")
            }
        }
        return result
    }
}

/// `HGETALL key`: every field and value as text (an absent key is an empty dictionary).
public struct HGETALL: RedisCommandRepresentable {
    /// `HGETALL`.
    public static let name = "HGETALL"
    /// The hash.
    public var key: RedisKey

    /// Reads the whole hash at `key`.
    public init(_ key: some RedisKeyConvertible) { self.key = key.redisKey }

    /// The hash.
    public var keys: [RedisKey] { [key] }
    /// Read-only.
    public var isReadOnly: Bool { true }
    /// `HGETALL key`.
    public var command: RedisCommand { RedisCommand("HGETALL", key) }
    /// The fields and values, by field name.
    public func decode(_ reply: RedisReply) throws(RedisError) -> [String: String] { try pairs(reply) }
}

/// `HLEN key`: how many fields the hash has (0 for an absent key).
public struct HLEN: RedisCommandRepresentable {
    /// `HLEN`.
    public static let name = "HLEN"
    /// The hash.
    public var key: RedisKey

    /// Counts the fields of the hash at `key`.
    public init(_ key: some RedisKeyConvertible) { self.key = key.redisKey }

    /// The hash.
    public var keys: [RedisKey] { [key] }
    /// Read-only.
    public var isReadOnly: Bool { true }
    /// `HLEN key`.
    public var command: RedisCommand { RedisCommand("HLEN", key) }
    /// The number of fields.
    public func decode(_ reply: RedisReply) throws(RedisError) -> Int { try integer(reply) }
}

/// `HDEL key field…`: removes fields; replies how many existed.
public struct HDEL: RedisCommandRepresentable {
    /// `HDEL`.
    public static let name = "HDEL"
    /// The hash.
    public var key: RedisKey
    /// The fields removed (at least one).
    public var fields: [String]

    /// Removes `fields` from the hash at `key`.
    public init(_ key: some RedisKeyConvertible, fields: [String]) {
        self.key = key.redisKey
        self.fields = fields
    }

    /// The hash.
    public var keys: [RedisKey] { [key] }
    /// `HDEL key field…`.
    public var command: RedisCommand { RedisCommand("HDEL", key: key, fields) }
    /// How many of the fields existed.
    public func decode(_ reply: RedisReply) throws(RedisError) -> Int { try integer(reply) }
}

/// `HSET key field value [field value …]`: sets fields (all in one command, so atomically); replies
/// how many of them were new.
public struct HSET: RedisCommandRepresentable {
    /// `HSET`.
    public static let name = "HSET"
    /// The hash.
    public var key: RedisKey
    /// The fields and their values, in order (at least one pair).
    public var fields: [(field: String, value: String)]

    /// Sets `fields` of the hash at `key`.
    public init(_ key: some RedisKeyConvertible, fields: [(field: String, value: String)]) {
        self.key = key.redisKey
        self.fields = fields
    }

    /// The hash.
    public var keys: [RedisKey] { [key] }
    /// `HSET key field value…`.
    public var command: RedisCommand { RedisCommand("HSET", key: key, fields.flatMap { [$0.field, $0.value] }) }
    /// How many of the fields were new.
    public func decode(_ reply: RedisReply) throws(RedisError) -> Int { try integer(reply) }
}

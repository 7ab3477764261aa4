// Typed set commands: SMEMBERS, SCARD, SMISMEMBER, SSCAN.

/// `SMEMBERS key`: every member (an absent key has none).
public struct SMEMBERS: RedisCommandRepresentable {
    /// `SMEMBERS`.
    public static let name = "SMEMBERS"
    /// The set.
    public var key: RedisKey

    /// Reads the set at `key`.
    public init(_ key: some RedisKeyConvertible) { self.key = key.redisKey }

    /// The set.
    public var keys: [RedisKey] { [key] }
    /// Read-only.
    public var isReadOnly: Bool { true }
    /// `SMEMBERS key`.
    public var command: RedisCommand { RedisCommand("SMEMBERS", key) }
    /// The members as text (invalid UTF-8 repaired), in the server's order.
    public func decode(_ reply: RedisReply) throws(RedisError) -> [String] {
        try byteStrings(reply).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// `SCARD key`: how many members the set has.
public struct SCARD: RedisCommandRepresentable {
    /// `SCARD`.
    public static let name = "SCARD"
    /// The set.
    public var key: RedisKey

    /// Counts the members of the set at `key`.
    public init(_ key: some RedisKeyConvertible) { self.key = key.redisKey }

    /// The set.
    public var keys: [RedisKey] { [key] }
    /// Read-only.
    public var isReadOnly: Bool { true }
    /// `SCARD key`.
    public var command: RedisCommand { RedisCommand("SCARD", key) }
    /// The number of members.
    public func decode(_ reply: RedisReply) throws(RedisError) -> Int { try integer(reply) }
}

/// `SMISMEMBER key member…`: whether each member is in the set, by member.
public struct SMISMEMBER: RedisCommandRepresentable {
    /// `SMISMEMBER`.
    public static let name = "SMISMEMBER"
    /// The set.
    public var key: RedisKey
    /// The members tested (at least one).
    public var members: [String]

    /// Tests `members` against the set at `key`.
    public init(_ key: some RedisKeyConvertible, members: [String]) {
        self.key = key.redisKey
        self.members = members
    }

    /// The set.
    public var keys: [RedisKey] { [key] }
    /// Read-only.
    public var isReadOnly: Bool { true }
    /// `SMISMEMBER key member…`.
    public var command: RedisCommand { RedisCommand("SMISMEMBER", key: key, members) }
    /// Whether each member is in the set, by member.
    public func decode(_ reply: RedisReply) throws(RedisError) -> [String: Bool] {
        let flags = try elements(reply)
        guard flags.count == members.count else { throw unexpectedReply(reply, expected: "an array of \(members.count)") }
        var result: [String: Bool] = [:]
        for (member, flag) in zip(members, flags) {
            guard case .integer(let value) = flag else { throw unexpectedReply(reply, expected: "an array of integers") }
            result[member] = value == 1
        }
        return result
    }
}

/// `SSCAN key cursor [COUNT count]`: one step over a set's members.
///
/// Prefer ``RedisConnectionPool/sscan(_:count:)``, which owns the cursor loop.
public struct SSCAN: RedisCursorCommand {
    /// `SSCAN`.
    public static let name = "SSCAN"
    /// The set.
    public var key: RedisKey
    /// Where this step starts (`"0"`: the beginning).
    public var cursor: String
    /// How much work the server does per step (a hint, not a page size).
    public var count: Int?

    /// A step over the set at `key` from `cursor`.
    public init(_ key: some RedisKeyConvertible, cursor: String = "0", count: Int? = nil) {
        self.key = key.redisKey
        self.cursor = cursor
        self.count = count
    }

    /// The set.
    public var keys: [RedisKey] { [key] }
    /// Read-only.
    public var isReadOnly: Bool { true }
    /// `SSCAN key cursor [COUNT count]`.
    public var command: RedisCommand { RedisCommand("SSCAN", key, cursor).appending(count: count) }
}

// Typed sorted-set and stream commands: ZRANGE, XRANGE.

/// `ZRANGE key start stop`: members by rank (both ends inclusive; negative ranks count from the end).
public struct ZRANGE: RedisCommandRepresentable {
    /// `ZRANGE`.
    public static let name = "ZRANGE"
    /// The sorted set.
    public var key: RedisKey
    /// The first rank.
    public var start: Int
    /// The last rank (`-1`: the last member).
    public var stop: Int

    /// Reads ranks `start` through `stop` of the sorted set at `key` (by default all of it).
    public init(_ key: some RedisKeyConvertible, start: Int = 0, stop: Int = -1) {
        self.key = key.redisKey
        self.start = start
        self.stop = stop
    }

    /// The sorted set.
    public var keys: [RedisKey] { [key] }
    /// Read-only.
    public var isReadOnly: Bool { true }
    /// `ZRANGE key start stop`.
    public var command: RedisCommand { RedisCommand("ZRANGE", key, start, stop) }
    /// The members as text (invalid UTF-8 repaired), lowest score first.
    public func decode(_ reply: RedisReply) throws(RedisError) -> [String] {
        try byteStrings(reply).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// One entry of a Redis stream.
public struct RedisStreamEntry: Sendable, Hashable {
    /// The entry's id (`<milliseconds>-<sequence>`).
    public var id: String
    /// The entry's fields and values as text.
    public var fields: [String: String]

    /// Creates an entry.
    public init(id: String, fields: [String: String]) {
        self.id = id
        self.fields = fields
    }
}

/// `XRANGE key start end [COUNT count]`: stream entries, oldest first.
public struct XRANGE: RedisCommandRepresentable {
    /// `XRANGE`.
    public static let name = "XRANGE"
    /// The stream.
    public var key: RedisKey
    /// The first id (`-`: the oldest).
    public var start: String
    /// The last id (`+`: the newest).
    public var end: String
    /// The most entries returned.
    public var count: Int?

    /// Reads the stream at `key` from `start` to `end`, at most `count` entries.
    public init(_ key: some RedisKeyConvertible, start: String = "-", end: String = "+", count: Int? = nil) {
        self.key = key.redisKey
        self.start = start
        self.end = end
        self.count = count
    }

    /// The stream.
    public var keys: [RedisKey] { [key] }
    /// Read-only.
    public var isReadOnly: Bool { true }
    /// `XRANGE key start end [COUNT count]`.
    public var command: RedisCommand { RedisCommand("XRANGE", key, start, end).appending(count: count) }
    /// The entries, oldest first.
    public func decode(_ reply: RedisReply) throws(RedisError) -> [RedisStreamEntry] {
        var entries: [RedisStreamEntry] = []
        for entry in try elements(reply) {
            guard case .array(let parts) = entry, parts.count == 2, case .bulk(let id) = parts[0] else {
                throw unexpectedReply(reply, expected: "an array of [id, fields] entries")
            }
            entries.append(RedisStreamEntry(id: String(decoding: id, as: UTF8.self), fields: try pairs(parts[1])))
        }
        return entries
    }
}

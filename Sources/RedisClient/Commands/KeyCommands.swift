// Typed keyspace commands: EXISTS, DEL, UNLINK, SCAN.

/// `EXISTS key…`: how many of the keys exist.
public struct EXISTS: RedisCommandRepresentable {
    /// `EXISTS`.
    public static let name = "EXISTS"
    /// The keys tested (at least one).
    public var keys: [RedisKey]

    /// Tests `keys`.
    public init(_ keys: [any RedisKeyConvertible]) { self.keys = keys.map(\.redisKey) }
    /// Tests `key`.
    public init(_ key: some RedisKeyConvertible) { self.keys = [key.redisKey] }

    /// Read-only.
    public var isReadOnly: Bool { true }
    /// `EXISTS key…`.
    public var command: RedisCommand { RedisCommand("EXISTS", keys) }
    /// How many exist (a key named twice counts twice).
    public func decode(_ reply: RedisReply) throws(RedisError) -> Int { try integer(reply) }
}

/// `DEL key…`: deletes keys; replies how many existed.
public struct DEL: RedisCommandRepresentable {
    /// `DEL`.
    public static let name = "DEL"
    /// The keys deleted (at least one).
    public var keys: [RedisKey]

    /// Deletes `keys`.
    public init(_ keys: [any RedisKeyConvertible]) { self.keys = keys.map(\.redisKey) }
    /// Deletes `key`.
    public init(_ key: some RedisKeyConvertible) { self.keys = [key.redisKey] }

    /// `DEL key…`.
    public var command: RedisCommand { RedisCommand("DEL", keys) }
    /// How many existed.
    public func decode(_ reply: RedisReply) throws(RedisError) -> Int { try integer(reply) }
}

/// `UNLINK key…`: deletes keys, freeing their memory in the background; replies how many existed.
public struct UNLINK: RedisCommandRepresentable {
    /// `UNLINK`.
    public static let name = "UNLINK"
    /// The keys deleted (at least one).
    public var keys: [RedisKey]

    /// Deletes `keys`.
    public init(_ keys: [any RedisKeyConvertible]) { self.keys = keys.map(\.redisKey) }
    /// Deletes `key`.
    public init(_ key: some RedisKeyConvertible) { self.keys = [key.redisKey] }

    /// `UNLINK key…`.
    public var command: RedisCommand { RedisCommand("UNLINK", keys) }
    /// How many existed.
    public func decode(_ reply: RedisReply) throws(RedisError) -> Int { try integer(reply) }
}

/// One step of a cursor scan (`SCAN`, `SSCAN`): the cursor to continue from (`"0"`: done) and the
/// elements of this step, as bytes.
public struct RedisScanPage: Sendable, Hashable {
    /// The cursor of the next step; `"0"` when the scan is complete.
    public var cursor: String
    /// This step's keys or members (possibly none; possibly seen in an earlier step too, if the
    /// data changed during the scan).
    public var elements: [[UInt8]]

    /// Creates a page.
    public init(cursor: String, elements: [[UInt8]]) {
        self.cursor = cursor
        self.elements = elements
    }
}

/// A command that walks a collection with a cursor, one ``RedisScanPage`` per step.
public protocol RedisCursorCommand: RedisCommandRepresentable where Reply == RedisScanPage {
    /// Where this step starts (`"0"`: the beginning).
    var cursor: String { get set }
}

extension RedisCursorCommand {
    /// The same command continuing from `cursor`.
    public func continuing(from cursor: String) -> Self {
        var next = self
        next.cursor = cursor
        return next
    }

    /// The next cursor and this step's elements (`[cursor, [element…]]`).
    public func decode(_ reply: RedisReply) throws(RedisError) -> RedisScanPage {
        guard case .array(let parts) = reply, parts.count == 2, case .bulk(let cursor) = parts[0] else {
            throw unexpectedReply(reply, expected: "a cursor and an array")
        }
        return RedisScanPage(cursor: String(decoding: cursor, as: UTF8.self), elements: try byteStrings(parts[1]))
    }
}

/// `SCAN cursor [MATCH pattern] [COUNT count]`: one step over the keyspace.
///
/// Prefer ``RedisConnectionPool/scan(match:count:)``, which owns the cursor loop.
public struct SCAN: RedisCursorCommand {
    /// `SCAN`.
    public static let name = "SCAN"
    /// Where this step starts (`"0"`: the beginning).
    public var cursor: String
    /// Only keys matching this glob pattern.
    public var match: String?
    /// How much work the server does per step (a hint, not a page size).
    public var count: Int?

    /// A step from `cursor`.
    public init(cursor: String = "0", match: String? = nil, count: Int? = nil) {
        self.cursor = cursor
        self.match = match
        self.count = count
    }

    /// None: SCAN walks the whole keyspace of the server it is sent to.
    public var keys: [RedisKey] { [] }
    /// Read-only.
    public var isReadOnly: Bool { true }
    /// `SCAN cursor [MATCH pattern] [COUNT count]`.
    public var command: RedisCommand {
        var command = RedisCommand("SCAN", cursor)
        if let match {
            command.append("MATCH")
            command.append(match)
        }
        return command.appending(count: count)
    }
}

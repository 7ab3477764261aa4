/// A Redis command as a typed value: the keys it touches, its wire form, and how its reply becomes
/// a Swift value.
///
/// Send one with ``RedisConnectionPool/send(_:)-(RedisCommandRepresentable)`` (or a connection's
/// `send`), which returns the decoded ``Reply``; pipeline many of one kind with
/// ``RedisConnectionPool/pipeline(_:)-(Array<RedisCommandRepresentable>)``.
///
/// ``keys`` lists exactly the keys the command reads or writes, so a Redis Cluster router can pick
/// the node (and a pipeline split by node) from the command alone; a command that touches no key
/// (`TIME`, `INFO`, `SCAN`, which walks the whole keyspace of one node) says so with an empty list.
///
/// Conforming types are in this folder, one file per family, named as Redis spells them (`HMGET`,
/// `SCRIPT.LOAD`), as valkey-swift does.
public protocol RedisCommandRepresentable: Sendable {
    /// The Swift value the reply decodes to.
    associatedtype Reply: Sendable

    /// The command's name as errors and logs show it (`HMGET`, `SCRIPT LOAD`); never its arguments.
    static var name: String { get }
    /// The keys the command reads or writes, in order; empty when it touches no key.
    var keys: [RedisKey] { get }
    /// Whether the command only reads (a replica may serve it).
    var isReadOnly: Bool { get }
    /// The command in wire form.
    var command: RedisCommand { get }
    /// Decodes the server's reply (never an error reply: those are thrown before decoding).
    ///
    /// - Throws: ``RedisError`` with code ``RedisError/Code/protocolError`` naming the command when
    ///   the reply does not have the shape the command answers with (e.g. a key of another type).
    func decode(_ reply: RedisReply) throws(RedisError) -> Reply
}

extension RedisCommandRepresentable {
    /// Decodes a reply that may be an error reply (a pipeline's slot): the error is thrown naming the
    /// command, anything else goes to ``decode(_:)``.
    public func decodeReply(_ reply: RedisReply) throws(RedisError) -> Reply {
        if case .error(var error) = reply {
            if error.command == nil { error.command = Self.name }
            throw error
        }
        return try decode(reply)
    }

    /// ``decodeReply(_:)`` as a `Result`: a pipeline slot's value or its own error.
    public func decodeResult(_ reply: RedisReply) -> Result<Reply, RedisError> {
        Result { () throws(RedisError) in try decodeReply(reply) }
    }

    /// The error for a reply of the wrong shape: names the command and what was expected, never the
    /// reply's content or the command's arguments (they hold user ids and keys).
    public func unexpectedReply(_ reply: RedisReply, expected: String) -> RedisError {
        RedisError(
            code: .protocolError,
            message: "unexpected reply to \(Self.name): expected \(expected), got \(reply.kind)",
            command: Self.name)
    }
}

extension RedisReply {
    /// The kind of reply, in words, for error messages (never its content).
    public var kind: String {
        switch self {
        case .status: "a status"
        case .bulk: "a bulk string"
        case .integer: "an integer"
        case .null: "nil"
        case .array(let elements): "an array of \(elements.count)"
        case .error: "an error"
        }
    }
}

/// A Redis key: bytes, binary-safe, usually built from a string.
///
/// What ``RedisCommandRepresentable/keys`` lists, so the key's hash slot is known (``HashSlot``).
public struct RedisKey: Sendable, Hashable, RedisArgumentConvertible, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    /// The key's bytes.
    public var bytes: [UInt8]

    /// A key from raw bytes.
    public init(bytes: [UInt8]) { self.bytes = bytes }
    /// A key from text (its UTF-8 bytes).
    public init(_ text: String) { self.bytes = Array(text.utf8) }
    /// A key from a string literal.
    public init(stringLiteral value: String) { self.init(value) }

    /// The bytes themselves.
    public var redisArgument: [UInt8] { bytes }
    /// The key's hash slot in a Redis Cluster.
    public var slot: Int { HashSlot.slot(for: bytes) }
    /// The key as text (invalid UTF-8 repaired).
    public var description: String { String(decoding: bytes, as: UTF8.self) }
}

/// A value a typed command accepts as a key: a `String`, raw bytes or a ``RedisKey``.
public protocol RedisKeyConvertible: Sendable {
    /// The key.
    var redisKey: RedisKey { get }
}

extension RedisKey: RedisKeyConvertible {
    /// The key itself.
    public var redisKey: RedisKey { self }
}

extension String: RedisKeyConvertible {
    /// The string's UTF-8 bytes as a key.
    public var redisKey: RedisKey { RedisKey(self) }
}

extension Array: RedisKeyConvertible where Element == UInt8 {
    /// The bytes as a key.
    public var redisKey: RedisKey { RedisKey(bytes: self) }
}

// Shared reply decoders of the typed commands.
extension RedisCommandRepresentable {
    /// A bulk string as text (invalid UTF-8 repaired), `nil` for the nil reply.
    func optionalString(_ reply: RedisReply) throws(RedisError) -> String? {
        switch reply {
        case .null: return nil
        case .bulk, .status: return reply.string
        default: throw unexpectedReply(reply, expected: "a bulk string or nil")
        }
    }

    /// An integer reply.
    func integer(_ reply: RedisReply) throws(RedisError) -> Int {
        guard case .integer(let value) = reply else { throw unexpectedReply(reply, expected: "an integer") }
        return Int(value)
    }

    /// An array reply's elements.
    func elements(_ reply: RedisReply) throws(RedisError) -> [RedisReply] {
        guard case .array(let elements) = reply else { throw unexpectedReply(reply, expected: "an array") }
        return elements
    }

    /// An array of bulk strings as their bytes.
    func byteStrings(_ reply: RedisReply) throws(RedisError) -> [[UInt8]] {
        var result: [[UInt8]] = []
        for element in try elements(reply) {
            guard case .bulk(let bytes) = element else { throw unexpectedReply(reply, expected: "an array of bulk strings") }
            result.append(bytes)
        }
        return result
    }

    /// A flat array of field/value pairs (HGETALL, CONFIG GET) as a dictionary of text.
    func pairs(_ reply: RedisReply) throws(RedisError) -> [String: String] {
        let strings = try byteStrings(reply)
        guard strings.count % 2 == 0 else { throw unexpectedReply(reply, expected: "field and value pairs") }
        var result: [String: String] = [:]
        result.reserveCapacity(strings.count / 2)
        for index in stride(from: 0, to: strings.count, by: 2) {
            result[String(decoding: strings[index], as: UTF8.self)] = String(decoding: strings[index + 1], as: UTF8.self)
        }
        return result
    }
}

extension RedisCommand {
    /// `name key argument…`: a command on one key with a list of fields or members.
    init(_ name: String, key: RedisKey, _ rest: [String]) {
        self.init(name, key)
        for argument in rest { append(argument) }
    }

    /// The command with `COUNT count` appended when `count` is set.
    func appending(count: Int?) -> RedisCommand {
        guard let count else { return self }
        var command = self
        command.append("COUNT")
        command.append(count)
        return command
    }
}

extension RedisCommandRepresentable {
    /// By default a command is not known to be read-only.
    public var isReadOnly: Bool { false }
}

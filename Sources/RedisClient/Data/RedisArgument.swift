import Foundation

/// A value that can be sent as one argument of a Redis command.
///
/// Arguments are sent binary-safe through hiredis's argv API with explicit lengths.
public protocol RedisArgumentConvertible: Sendable {
    /// The bytes sent for this argument.
    var redisArgument: [UInt8] { get }
    /// Appends the argument's bytes to a command buffer (the default appends ``redisArgument``).
    func appendRedisArgument(to buffer: inout [UInt8])
}

extension RedisArgumentConvertible {
    /// Appends ``redisArgument``.
    public func appendRedisArgument(to buffer: inout [UInt8]) { buffer.append(contentsOf: redisArgument) }
}

extension String: RedisArgumentConvertible {
    /// The string's UTF-8 bytes.
    public var redisArgument: [UInt8] { Array(utf8) }
    /// Appends the UTF-8 bytes without an intermediate array.
    public func appendRedisArgument(to buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
}

extension Substring: RedisArgumentConvertible {
    /// The substring's UTF-8 bytes.
    public var redisArgument: [UInt8] { Array(utf8) }
}

extension Int: RedisArgumentConvertible {
    /// The integer in decimal.
    public var redisArgument: [UInt8] { Array(String(self).utf8) }
    /// Appends the decimal digits without an intermediate string.
    public func appendRedisArgument(to buffer: inout [UInt8]) {
        if self == 0 {
            buffer.append(UInt8(ascii: "0"))
            return
        }
        if self < 0 { buffer.append(UInt8(ascii: "-")) }
        var magnitude = self.magnitude
        let start = buffer.count
        while magnitude > 0 {
            buffer.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        }
        buffer[start...].reverse()
    }
}

extension Int64: RedisArgumentConvertible {
    /// The integer in decimal.
    public var redisArgument: [UInt8] { Array(String(self).utf8) }
}

extension Array: RedisArgumentConvertible where Element == UInt8 {
    /// The bytes themselves.
    public var redisArgument: [UInt8] { self }
}

extension Data: RedisArgumentConvertible {
    /// The bytes themselves.
    public var redisArgument: [UInt8] { Array(self) }
}

/// One Redis command: its name and arguments as bytes.
///
/// The arguments are kept back to back in one buffer with a table of lengths, which is what
/// hiredis's argv API reads, so building and sending a command copies each byte once.
public struct RedisCommand: Sendable, Hashable {
    /// Every argument's bytes, back to back (the command name first).
    public private(set) var bytes: [UInt8]
    /// The length of each argument in ``bytes``.
    public private(set) var lengths: [Int]

    /// The command name and its arguments, each as raw bytes.
    public var arguments: [[UInt8]] {
        var result: [[UInt8]] = []
        result.reserveCapacity(lengths.count)
        var offset = 0
        for length in lengths {
            result.append(Array(bytes[offset..<(offset + length)]))
            offset += length
        }
        return result
    }

    /// Creates a command from a name and arguments, e.g. `RedisCommand("HINCRBY", key, field, 5)`.
    public init(_ name: String, _ arguments: any RedisArgumentConvertible...) {
        self.init(name, arguments)
    }

    /// Creates a command from a name and an array of arguments.
    public init(_ name: String, _ arguments: [any RedisArgumentConvertible]) {
        bytes = []
        bytes.reserveCapacity(name.utf8.count + arguments.count * 16)
        lengths = []
        lengths.reserveCapacity(arguments.count + 1)
        append(name)
        for argument in arguments { append(argument) }
    }

    /// Creates a command from raw argument bytes (the first is the command name).
    public init(rawArguments: [[UInt8]]) {
        bytes = rawArguments.flatMap { $0 }
        lengths = rawArguments.map(\.count)
    }

    /// Appends one more argument.
    public mutating func append(_ argument: some RedisArgumentConvertible) {
        let before = bytes.count
        argument.appendRedisArgument(to: &bytes)
        lengths.append(bytes.count - before)
    }

    private mutating func append(_ argument: any RedisArgumentConvertible) {
        let before = bytes.count
        argument.appendRedisArgument(to: &bytes)
        lengths.append(bytes.count - before)
    }

    /// The command's name, upper-cased, for logs and errors (never its arguments, which may hold secrets).
    public var name: String {
        String(decoding: bytes.prefix(lengths.first ?? 0), as: UTF8.self).uppercased()
    }
}

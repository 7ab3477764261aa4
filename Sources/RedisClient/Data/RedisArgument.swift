import Foundation

/// A value that can be sent as one argument of a Redis command.
///
/// Arguments are sent binary-safe through hiredis's argv API with explicit lengths.
public protocol RedisArgumentConvertible: Sendable {
    /// The bytes sent for this argument.
    var redisArgument: [UInt8] { get }
}

extension String: RedisArgumentConvertible {
    /// The string's UTF-8 bytes.
    public var redisArgument: [UInt8] { Array(utf8) }
}

extension Substring: RedisArgumentConvertible {
    /// The substring's UTF-8 bytes.
    public var redisArgument: [UInt8] { Array(utf8) }
}

extension Int: RedisArgumentConvertible {
    /// The integer in decimal.
    public var redisArgument: [UInt8] { Array(String(self).utf8) }
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
public struct RedisCommand: Sendable, Hashable {
    /// The command name and its arguments, each as raw bytes.
    public var arguments: [[UInt8]]

    /// Creates a command from a name and arguments, e.g. `RedisCommand("HINCRBY", key, field, 5)`.
    public init(_ name: String, _ arguments: any RedisArgumentConvertible...) {
        self.init(name, arguments)
    }

    /// Creates a command from a name and an array of arguments.
    public init(_ name: String, _ arguments: [any RedisArgumentConvertible]) {
        var all: [[UInt8]] = [Array(name.utf8)]
        all.reserveCapacity(arguments.count + 1)
        for argument in arguments { all.append(argument.redisArgument) }
        self.arguments = all
    }

    /// Creates a command from raw argument bytes (the first is the command name).
    public init(rawArguments: [[UInt8]]) {
        self.arguments = rawArguments
    }

    /// The command's name, upper-cased, for logs and errors (never its arguments, which may hold secrets).
    public var name: String {
        String(decoding: arguments.first ?? [], as: UTF8.self).uppercased()
    }
}

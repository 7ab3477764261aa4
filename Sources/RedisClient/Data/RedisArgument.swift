import Foundation

/// A value that can be sent as one argument of a Redis command.
///
/// Arguments are binary-safe: each is sent as a RESP bulk string with its exact length.
public protocol RedisArgumentConvertible: Sendable {
    /// The bytes sent for this argument.
    var redisArgument: [UInt8] { get }
    /// Appends the argument as a RESP bulk string: `$`, its length in decimal, CRLF, the bytes,
    /// CRLF. The default writes ``redisArgument``; types that know their length without building
    /// the bytes (strings, integers) write straight into the buffer.
    func appendRedisBulkString(to buffer: inout [UInt8])
}

extension RedisArgumentConvertible {
    /// Appends ``redisArgument`` as a bulk string.
    public func appendRedisBulkString(to buffer: inout [UInt8]) {
        let bytes = redisArgument
        RESP.appendBulkHeader(length: bytes.count, to: &buffer)
        buffer.append(contentsOf: bytes)
        RESP.appendLineEnd(to: &buffer)
    }
}

/// Redis's wire format (RESP2), the parts commands are built from.
enum RESP {
    /// Appends `$<length>\r\n`.
    @inline(__always)
    static func appendBulkHeader(length: Int, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "$"))
        appendDecimal(length, to: &buffer)
        appendLineEnd(to: &buffer)
    }

    /// Appends CRLF.
    @inline(__always)
    static func appendLineEnd(to buffer: inout [UInt8]) {
        buffer.append(0x0D)
        buffer.append(0x0A)
    }

    /// How many characters `value` takes in decimal (a minus sign included).
    static func decimalWidth(_ value: Int) -> Int {
        var width = value < 0 ? 2 : 1
        var rest = value.magnitude
        while rest >= 10 {
            rest /= 10
            width += 1
        }
        return width
    }

    /// Appends `value` in decimal without an intermediate string.
    static func appendDecimal(_ value: Int, to buffer: inout [UInt8]) {
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        var rest = value.magnitude
        let digits = decimalWidth(value) - (value < 0 ? 1 : 0)
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        var index = start + digits - 1
        while rest > 0 {
            buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            index -= 1
        }
    }
}

extension String: RedisArgumentConvertible {
    /// The string's UTF-8 bytes.
    public var redisArgument: [UInt8] { Array(utf8) }
    /// Appends the string as a bulk string without an intermediate array.
    public func appendRedisBulkString(to buffer: inout [UInt8]) {
        RESP.appendBulkHeader(length: utf8.count, to: &buffer)
        buffer.append(contentsOf: utf8)
        RESP.appendLineEnd(to: &buffer)
    }
}

extension Substring: RedisArgumentConvertible {
    /// The substring's UTF-8 bytes.
    public var redisArgument: [UInt8] { Array(utf8) }
}

extension Int: RedisArgumentConvertible {
    /// The integer in decimal.
    public var redisArgument: [UInt8] { Array(String(self).utf8) }
    /// Appends the decimal digits as a bulk string without an intermediate string.
    public func appendRedisBulkString(to buffer: inout [UInt8]) {
        RESP.appendBulkHeader(length: RESP.decimalWidth(self), to: &buffer)
        RESP.appendDecimal(self, to: &buffer)
        RESP.appendLineEnd(to: &buffer)
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

/// One Redis command: its name and arguments, kept in Redis's wire format.
///
/// Each argument is stored as a RESP bulk string as it is appended, so sending a command is a single
/// copy into the connection's output buffer (after the `*<count>` header).
public struct RedisCommand: Sendable, Hashable {
    /// The arguments as RESP bulk strings, back to back (the command name first).
    public private(set) var wireArguments: [UInt8]
    /// How many arguments, the command name included.
    public private(set) var count: Int

    /// The command name and its arguments, each as raw bytes.
    public var arguments: [[UInt8]] {
        var result: [[UInt8]] = []
        result.reserveCapacity(count)
        var offset = 0
        while offset < wireArguments.count {
            // `$<length>\r\n<bytes>\r\n`
            var length = 0
            offset += 1
            while wireArguments[offset] != 0x0D {
                length = length * 10 + Int(wireArguments[offset] - UInt8(ascii: "0"))
                offset += 1
            }
            offset += 2
            result.append(Array(wireArguments[offset..<(offset + length)]))
            offset += length + 2
        }
        return result
    }

    /// The `*<count>\r\n` line that precedes the arguments on the wire.
    public var wireHeader: [UInt8] {
        var header: [UInt8] = [UInt8(ascii: "*")]
        header.reserveCapacity(8)
        RESP.appendDecimal(count, to: &header)
        RESP.appendLineEnd(to: &header)
        return header
    }

    /// Creates a command from a name and arguments, e.g. `RedisCommand("HINCRBY", key, field, 5)`.
    public init(_ name: String, _ arguments: any RedisArgumentConvertible...) {
        self.init(name, arguments)
    }

    /// Creates a command from a name and an array of arguments.
    public init(_ name: String, _ arguments: [any RedisArgumentConvertible]) {
        wireArguments = []
        wireArguments.reserveCapacity(name.utf8.count + 8 + arguments.count * 24)
        count = 0
        append(name)
        for argument in arguments { append(argument) }
    }

    /// Creates a command from raw argument bytes (the first is the command name).
    public init(rawArguments: [[UInt8]]) {
        wireArguments = []
        count = 0
        for argument in rawArguments { append(argument) }
    }

    /// Reserves room for at least `bytes` bytes of arguments in RESP form.
    public mutating func reserveCapacity(_ bytes: Int) {
        wireArguments.reserveCapacity(bytes)
    }

    /// Appends one more argument.
    public mutating func append(_ argument: some RedisArgumentConvertible) {
        argument.appendRedisBulkString(to: &wireArguments)
        count += 1
    }

    /// The command's name, upper-cased, for logs and errors (never its arguments, which may hold secrets).
    public var name: String {
        String(decoding: arguments.first ?? [], as: UTF8.self).uppercased()
    }
}

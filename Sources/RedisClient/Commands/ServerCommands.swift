import Foundation

// Typed server commands (no keys): PING, TIME, INFO, CONFIG GET, ACL WHOAMI, SCRIPT LOAD, SCRIPT EXISTS (WAIT: Pool/RedisConnectionPool+Wait.swift).

/// `PING`: whether the server answers.
public struct PING: RedisCommandRepresentable {
    /// `PING`.
    public static let name = "PING"
    /// Creates the command.
    public init() {}
    /// None.
    public var keys: [RedisKey] { [] }
    /// Read-only.
    public var isReadOnly: Bool { true }
    /// `PING`.
    public var command: RedisCommand { RedisCommand("PING") }
    /// The reply text (`PONG`).
    public func decode(_ reply: RedisReply) throws(RedisError) -> String {
        guard case .status(let text) = reply else { throw unexpectedReply(reply, expected: "a status") }
        return text
    }
}

/// `TIME`: the server's clock.
public struct TIME: RedisCommandRepresentable {
    /// `TIME`.
    public static let name = "TIME"
    /// Creates the command.
    public init() {}
    /// None.
    public var keys: [RedisKey] { [] }
    /// Read-only.
    public var isReadOnly: Bool { true }
    /// `TIME`.
    public var command: RedisCommand { RedisCommand("TIME") }
    /// The server's clock as a date (microsecond precision).
    public func decode(_ reply: RedisReply) throws(RedisError) -> Date {
        guard case .array(let parts) = reply, parts.count == 2,
            let seconds = parts[0].string.flatMap(Double.init), let micros = parts[1].string.flatMap(Double.init)
        else { throw unexpectedReply(reply, expected: "seconds and microseconds") }
        return Date(timeIntervalSince1970: seconds + micros / 1_000_000)
    }
}

/// `INFO section`: one section of the server's report, as `field: value` pairs.
public struct INFO: RedisCommandRepresentable {
    /// `INFO`.
    public static let name = "INFO"
    /// The section (`replication`, `memory`, `persistence`, `server`, `cpu`, …).
    public var section: String

    /// Reads `section`.
    public init(_ section: String) { self.section = section }

    /// None.
    public var keys: [RedisKey] { [] }
    /// Read-only.
    public var isReadOnly: Bool { true }
    /// `INFO section`.
    public var command: RedisCommand { RedisCommand("INFO", section) }
    /// Each `field:value` line by field (heading and blank lines skipped).
    public func decode(_ reply: RedisReply) throws(RedisError) -> [String: String] {
        guard case .bulk = reply, let text = reply.string else {
            throw unexpectedReply(reply, expected: "a bulk string")
        }
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":"), !line.hasPrefix("#") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }
}

/// `CONFIG …` commands.
public enum CONFIG {
    /// `CONFIG GET parameter`: configuration parameters matching a pattern, by name.
    public struct GET: RedisCommandRepresentable {
        /// `CONFIG GET`.
        public static let name = "CONFIG GET"
        /// The parameter name or glob pattern.
        public var parameter: String

        /// Reads `parameter`.
        public init(_ parameter: String) { self.parameter = parameter }

        /// None.
        public var keys: [RedisKey] { [] }
        /// Read-only.
        public var isReadOnly: Bool { true }
        /// `CONFIG GET parameter`.
        public var command: RedisCommand { RedisCommand("CONFIG", "GET", parameter) }
        /// The matching parameters' values, by name.
        public func decode(_ reply: RedisReply) throws(RedisError) -> [String: String] { try pairs(reply) }
    }
}

/// `ACL …` commands.
public enum ACL {
    /// `ACL WHOAMI`: the connection's user name.
    public struct WHOAMI: RedisCommandRepresentable {
        /// `ACL WHOAMI`.
        public static let name = "ACL WHOAMI"
        /// Creates the command.
        public init() {}
        /// None.
        public var keys: [RedisKey] { [] }
        /// Read-only.
        public var isReadOnly: Bool { true }
        /// `ACL WHOAMI`.
        public var command: RedisCommand { RedisCommand("ACL", "WHOAMI") }
        /// The user name.
        public func decode(_ reply: RedisReply) throws(RedisError) -> String {
            guard let name = try optionalString(reply) else { throw unexpectedReply(reply, expected: "a user name") }
            return name
        }
    }
}

/// `SCRIPT …` commands.
public enum SCRIPT {
    /// `SCRIPT LOAD source`: loads a script into the server's cache (changing no data).
    public struct LOAD: RedisCommandRepresentable {
        /// `SCRIPT LOAD`.
        public static let name = "SCRIPT LOAD"
        /// The Lua source.
        public var source: String

        /// Loads `source`.
        public init(_ source: String) { self.source = source }
        /// Loads `script`'s source.
        public init(_ script: RedisScript) { self.source = script.source }

        /// None.
        public var keys: [RedisKey] { [] }
        /// `SCRIPT LOAD source`.
        public var command: RedisCommand { RedisCommand("SCRIPT", "LOAD", source) }
        /// The script's SHA-1 digest as the server computed it.
        public func decode(_ reply: RedisReply) throws(RedisError) -> String {
            guard let digest = try optionalString(reply) else { throw unexpectedReply(reply, expected: "a digest") }
            return digest
        }
    }

    /// `SCRIPT EXISTS sha1…`: whether each script is in the server's cache, by digest.
    public struct EXISTS: RedisCommandRepresentable {
        /// `SCRIPT EXISTS`.
        public static let name = "SCRIPT EXISTS"
        /// The SHA-1 digests asked about (at least one).
        public var digests: [String]

        /// Asks about `digests`.
        public init(_ digests: [String]) { self.digests = digests }

        /// None.
        public var keys: [RedisKey] { [] }
        /// Read-only.
        public var isReadOnly: Bool { true }
        /// `SCRIPT EXISTS sha1…`.
        public var command: RedisCommand { RedisCommand("SCRIPT", ["EXISTS"] + digests) }
        /// Whether each digest is loaded, by digest.
        public func decode(_ reply: RedisReply) throws(RedisError) -> [String: Bool] {
            let flags = try elements(reply)
            guard flags.count == digests.count else {
                throw unexpectedReply(reply, expected: "an array of \(digests.count)")
            }
            var result: [String: Bool] = [:]
            for (digest, flag) in zip(digests, flags) {
                guard case .integer(let value) = flag else {
                    throw unexpectedReply(reply, expected: "an array of integers")
                }
                result[digest] = value == 1
            }
            return result
        }
    }
}

import Foundation

/// A Redis Cluster redirection: the `MOVED` or `ASK` error reply that says which node serves a slot.
///
/// `MOVED 3999 127.0.0.1:6381` means slot 3999 now lives on `127.0.0.1:6381` for good (refresh the
/// map, send there); `ASK 3999 127.0.0.1:6381` means the slot is being migrated and this one command
/// goes there once, preceded by `ASKING`. The endpoint may be a host name, an IPv6 address (with or
/// without brackets: Redis writes `::1:6381`) or empty (`:6381`), which means the host the command
/// was sent to.
public struct RedisRedirection: Sendable, Hashable, CustomStringConvertible {
    /// Whether the slot moved for good or is being migrated.
    public enum Kind: String, Sendable, Hashable, CustomStringConvertible {
        /// The slot's master changed: refresh the map and send to the new node.
        case moved = "MOVED"
        /// The slot is migrating: send this command once to the target, after `ASKING`.
        case ask = "ASK"

        /// `MOVED` or `ASK`, as Redis spells it.
        public var description: String { rawValue }
    }

    /// Where a redirection points.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        /// The host, or `nil` when Redis sent an empty one: the host the command was sent to.
        public var host: String?
        /// The port.
        public var port: Int

        /// Creates an endpoint.
        public init(host: String?, port: Int) {
            self.host = host
            self.port = port
        }

        /// The endpoint to connect to, an empty host taken as `queriedHost`.
        /// - Parameter queriedHost: The host of the node that sent the redirection.
        public func resolved(queriedHost: String) -> RedisConfiguration.Endpoint {
            .tcp(host: host ?? queriedHost, port: port)
        }

        /// `host:port`, `[v6]:port`, or `:port` for the same host.
        public var description: String {
            guard let host else { return ":\(port)" }
            return RedisConfiguration.Endpoint.tcp(host: host, port: port).description
        }
    }

    /// `MOVED` or `ASK`.
    public var kind: Kind
    /// The slot the command's keys hash to.
    public var slot: Int
    /// The node that serves the slot.
    public var endpoint: Endpoint

    /// Creates a redirection.
    public init(kind: Kind, slot: Int, endpoint: Endpoint) {
        self.kind = kind
        self.slot = slot
        self.endpoint = endpoint
    }

    /// Parses an error reply's text: `MOVED <slot> <host>:<port>` or `ASK <slot> <host>:<port>`.
    ///
    /// - Parameter serverReply: The reply without its leading `-`.
    /// - Throws: ``RedisError`` with ``RedisError/Code/protocolError`` naming the reply and what is
    ///   wrong with it (not a redirection, a slot outside 0-16383, a missing or bad port).
    public init(serverReply: String) throws(RedisError) {
        func malformed(_ why: String) -> RedisError {
            RedisError(
                code: .protocolError,
                message:
                    "malformed cluster redirection '\(serverReply.prefix(200))': \(why); expected 'MOVED <slot> <host>:<port>' or 'ASK <slot> <host>:<port>'"
            )
        }
        let words = serverReply.split(separator: " ", omittingEmptySubsequences: true)
        guard let first = words.first, let kind = Kind(rawValue: String(first)) else {
            throw malformed("not a MOVED or ASK reply")
        }
        guard words.count == 3 else { throw malformed("expected a slot and an endpoint") }
        guard let slot = Int(words[1]), (0..<HashSlot.count).contains(slot) else {
            throw malformed("slot '\(words[1])' is not a number from 0 to 16383")
        }
        let target = words[2]
        let hostPart: Substring
        let portPart: Substring
        if target.hasPrefix("[") {
            guard let close = target.firstIndex(of: "]"), target[target.index(after: close)...].hasPrefix(":") else {
                throw malformed("endpoint '\(target)' has an unclosed '[' or no port")
            }
            hostPart = target[target.index(after: target.startIndex)..<close]
            portPart = target[target.index(close, offsetBy: 2)...]
        } else {
            // IPv6 addresses arrive without brackets (`::1:6381`): the port follows the last colon.
            guard let colon = target.lastIndex(of: ":") else { throw malformed("endpoint '\(target)' has no port") }
            hostPart = target[..<colon]
            portPart = target[target.index(after: colon)...]
        }
        guard let port = Int(portPart), (1...65535).contains(port) else {
            throw malformed("port '\(portPart)' is not a number from 1 to 65535")
        }
        self.init(
            kind: kind, slot: slot, endpoint: Endpoint(host: hostPart.isEmpty ? nil : String(hostPart), port: port))
    }

    /// `MOVED 3999 127.0.0.1:6381`, as Redis sends it.
    public var description: String { "\(kind) \(slot) \(endpoint)" }
}

extension RedisError {
    /// Server codes after which a cluster client backs off and retries the same command within its
    /// deadline: `TRYAGAIN` (a multi-key command during resharding), `CLUSTERDOWN` (the cluster cannot
    /// serve the slot now, e.g. during a failover), `LOADING` (the node is loading its data set).
    public static let retryableServerCodes: Set<String> = ["TRYAGAIN", "CLUSTERDOWN", "LOADING"]

    /// Whether a server reply asks for the same command again after a pause (``retryableServerCodes``).
    /// Redirections are not in it: see ``redirection``.
    public var isRetryableServerError: Bool {
        guard code == .server, let serverCode else { return false }
        return RedisError.retryableServerCodes.contains(serverCode)
    }

    /// The `MOVED` or `ASK` redirection this error carries, or `nil` for any other error (or a
    /// redirection reply too malformed to follow).
    ///
    /// The reply's text is read back from ``message``, where ``init(serverReply:)`` keeps it.
    public var redirection: RedisRedirection? {
        guard code == .server, let serverCode, RedisRedirection.Kind(rawValue: serverCode) != nil else { return nil }
        let text: Substring
        if message.hasSuffix(")"), let start = message.range(of: "(\(serverCode): ", options: .backwards) {
            // `meaning (MOVED: 3999 127.0.0.1:6381)`
            text = message[start.upperBound..<message.index(before: message.endIndex)]
        } else if let start = message.range(of: "\(serverCode) ", options: .backwards) {
            // `redis replied with an error: MOVED 3999 127.0.0.1:6381`
            text = message[start.upperBound...]
        } else {
            return nil
        }
        return try? RedisRedirection(serverReply: "\(serverCode) \(text)")
    }
}

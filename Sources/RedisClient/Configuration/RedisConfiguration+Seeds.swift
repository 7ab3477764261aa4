import Foundation

// Cluster seeds and the client's mode: `redis://[user:password@]h1:p1,h2:p2` and
// `TOKENLEDGER_REDIS_MODE=auto|cluster|standalone`.

extension RedisConfiguration {
    /// Whether the server is one Redis or a Redis Cluster.
    public enum Mode: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// Ask the first seed (`INFO cluster`'s `cluster_enabled`, see ``INFO/CLUSTER``). The default.
        case auto
        /// A Redis Cluster: route by slot, starting from any seed.
        case cluster
        /// One Redis server (with its replicas, if any): only one seed is allowed.
        case standalone

        /// `auto`, `cluster` or `standalone`.
        public var description: String { rawValue }

        /// Parses a setting's value (case-insensitive; surrounding spaces ignored).
        ///
        /// - Parameters:
        ///   - text: The value, e.g. `cluster`.
        ///   - source: The setting's name for the message, e.g. `TOKENLEDGER_REDIS_MODE`.
        /// - Throws: ``RedisError`` with ``RedisError/Code/invalidConfiguration`` naming the setting,
        ///   the value and the accepted ones.
        public init(parsing text: String, source: String = "TOKENLEDGER_REDIS_MODE") throws(RedisError) {
            let word = text.trimmingCharacters(in: .whitespaces).lowercased()
            guard let mode = Mode(rawValue: word) else {
                throw RedisError(
                    code: .invalidConfiguration,
                    message: "invalid \(source) '\(text.prefix(100))': expected auto, cluster or standalone")
            }
            self = mode
        }
    }

    /// The nodes to start from: ``endpoint`` first, then any further hosts the URL lists
    /// (`redis://h1:p1,h2:p2`).
    ///
    /// In cluster mode ``RedisConnectionPool`` reads the slot map through any of them (the first
    /// that answers), and in `auto` mode asks the first reachable one whether it is a cluster. A
    /// standalone client uses only the first. Setting this to an empty list is ignored.
    public var seeds: [Endpoint] {
        get { [endpoint] + additionalSeeds }
        set {
            guard let first = newValue.first else { return }
            endpoint = first
            additionalSeeds = Array(newValue.dropFirst())
        }
    }

    /// Sets ``mode`` from a setting's value and checks it against the seeds.
    ///
    /// - Parameters:
    ///   - text: The value (`auto`, `cluster`, `standalone`); `nil` or empty leaves ``mode`` as it is.
    ///   - source: The setting's name for messages, e.g. `TOKENLEDGER_REDIS_MODE`.
    /// - Throws: ``RedisError`` with ``RedisError/Code/invalidConfiguration`` for an unknown mode, or
    ///   for `standalone` with several seeds.
    public mutating func setMode(_ text: String?, source: String = "TOKENLEDGER_REDIS_MODE") throws(RedisError) {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        mode = try Mode(parsing: text, source: source)
        try validateSeeds()
    }

    /// Checks that the seeds and the mode agree.
    ///
    /// - Throws: ``RedisError`` with ``RedisError/Code/invalidConfiguration`` when a unix socket is
    ///   one of several seeds (cluster nodes are reached over TCP), or when ``mode`` is
    ///   ``Mode/standalone`` and there are several seeds (a standalone client would use only the
    ///   first and silently ignore the others).
    public func validateSeeds() throws(RedisError) {
        guard !additionalSeeds.isEmpty else { return }
        if let socket = seeds.first(where: { if case .unix = $0 { true } else { false } }) {
            throw RedisError(
                code: .invalidConfiguration,
                message:
                    "invalid Redis seeds: \(socket) is a unix socket, which cannot be one of several cluster seeds; list TCP seeds as redis://h1:p1,h2:p2"
            )
        }
        if mode == .standalone {
            throw RedisError(
                code: .invalidConfiguration,
                message:
                    "invalid Redis seeds: mode is standalone but \(seeds.count) seeds are given (\(seeds.map(\.description).joined(separator: ", "))); give one host, or set TOKENLEDGER_REDIS_MODE=cluster or auto"
            )
        }
    }

    /// Parses a URL's host part, `host[:port]` or several of them separated by commas, into endpoints.
    ///
    /// - Parameters:
    ///   - hostList: The text between the credentials and the database, e.g. `h1:7000,[::1]:7001`.
    ///   - invalid: Makes the error for a reason (the caller quotes the URL, its password masked).
    /// - Returns: At least one endpoint; a missing host is `127.0.0.1` and a missing port 6379.
    static func parseSeeds(_ hostList: Substring, invalid: (String) -> RedisError) throws(RedisError) -> [Endpoint] {
        let parts = hostList.split(separator: ",", omittingEmptySubsequences: false)
        if parts.count > 1, parts.contains(where: \.isEmpty) {
            throw invalid("empty seed in host list '\(hostList)'; list seeds as h1:p1,h2:p2")
        }
        var seeds: [Endpoint] = []
        for part in parts {
            let seed = try parseSeed(part) { why in
                invalid(parts.count > 1 ? "seed '\(part)': \(why)" : why)
            }
            seeds.append(seed)
        }
        return seeds
    }

    /// Refuses a unix socket URL that lists several sockets (`unix:///a.sock,/b.sock`).
    static func checkSingleSocket(_ path: Substring, invalid: (String) -> RedisError) throws(RedisError) {
        let parts = path.split(separator: ",")
        guard parts.count > 1, parts.dropFirst().allSatisfy({ $0.hasPrefix("/") }) else { return }
        throw invalid(
            "a unix socket URL names one socket; several seeds (a cluster) need redis://h1:p1,h2:p2")
    }

    /// One `host[:port]` (`[v6]:port` for IPv6).
    private static func parseSeed(_ hostPort: Substring, invalid: (String) -> RedisError) throws(RedisError)
        -> Endpoint
    {
        var host: Substring
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw invalid("unclosed '[' in host") }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw invalid("unexpected '\(after)' after host")
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = hostPort
        }
        if host.isEmpty { host = "127.0.0.1" }
        var port = 6379
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else {
                throw invalid("port '\(portText)' is not a number from 1 to 65535")
            }
            port = p
        }
        if host.contains(where: { $0 == " " || $0 == "/" || $0 == "@" || $0 == "," }) {
            throw invalid("host '\(host)' is not a host name or address")
        }
        return .tcp(host: String(host), port: port)
    }
}

import Foundation

/// How to reach a Redis server and how long to wait for it.
///
/// Build one from a URL (`redis://[user:password@]host:port/db`, `redis://h1:p1,h2:p2` for cluster
/// seeds, or `unix:///path/to/socket`),
/// from a swift-configuration reader or the environment (`REDIS_URL`, `REDIS_PASSWORD`; see
/// `RedisConfiguration+SwiftConfiguration.swift`), or field by field.
/// `rediss://` is refused: hiredis 0.14 has no TLS.
///
/// ``description`` never shows the password.
public struct RedisConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// Where the server listens.
    public enum Endpoint: Sendable, Hashable, CustomStringConvertible {
        /// A TCP host and port.
        case tcp(host: String, port: Int)
        /// A Unix domain socket path.
        case unix(path: String)

        /// `host:port` or `unix:/path`, for messages.
        public var description: String {
            switch self {
            case .tcp(let host, let port):
                return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unix(let path):
                return "unix:\(path)"
            }
        }
    }

    /// The default URL when none is given: `redis://127.0.0.1:6379`.
    public static let defaultURL = "redis://127.0.0.1:6379"

    /// Where the server listens. Default `127.0.0.1:6379`.
    public var endpoint: Endpoint
    /// The ACL user name for `AUTH user password`; `nil` means `AUTH password` (the `default` user).
    /// A user name without a password authenticates with an empty password (an ACL user with
    /// `nopass`), so a missing password is refused by the server instead of silently connecting
    /// as `default`.
    public var username: String?
    /// The password; `nil` means no AUTH. Never printed.
    public var password: String?
    /// The logical database selected after connecting. Default 0.
    public var database: Int
    /// How long a connect (including AUTH and SELECT) may take. Default 2 seconds.
    public var connectTimeout: Duration
    /// How long one command (or one pipeline's write and each reply's read) may take. Default 5 seconds.
    public var commandTimeout: Duration
    /// Cluster seeds after ``endpoint`` (`redis://h1:p1,h2:p2`); see ``seeds``. Empty for one host.
    public var additionalSeeds: [Endpoint] = []
    /// Standalone, cluster, or detected from the first seed. Default ``Mode/auto``.
    public var mode: Mode = .auto

    /// Creates a configuration.
    ///
    /// - Throws: ``RedisError`` with ``RedisError/Code/invalidConfiguration`` when a value is out of range.
    public init(
        endpoint: Endpoint = .tcp(host: "127.0.0.1", port: 6379),
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5)
    ) throws(RedisError) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        try validate()
    }

    /// Parses a Redis URL.
    ///
    /// Accepted forms: `redis://host`, `redis://host:port`, `redis://:password@host:port/db`,
    /// `redis://user:password@host:port/db`, `redis://user@host` (a user name alone, as redis-cli
    /// and redis-py read it; the password then comes from `REDIS_PASSWORD` or ``password``),
    /// `redis://[::1]:6379`, `unix:///path/to/redis.sock` (optionally `?db=N`, and
    /// `unix://user:password@/path`). User and password may be percent-encoded.
    ///
    /// - Throws: ``RedisError`` with ``RedisError/Code/invalidConfiguration``, naming what is wrong;
    ///   the message quotes the URL with its password masked (also when the URL is malformed).
    public init(
        url: String,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5)
    ) throws(RedisError) {
        let redacted = RedisConfiguration.redact(url: url)
        func invalid(_ why: String) -> RedisError {
            RedisError(code: .invalidConfiguration, message: "invalid Redis URL '\(redacted)': \(why)")
        }
        guard let schemeEnd = url.range(of: "://") else {
            throw invalid("expected redis://host:port/db or unix:///path")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        var rest = Substring(url[schemeEnd.upperBound...])
        switch scheme {
        case "rediss":
            throw RedisError(
                code: .invalidConfiguration,
                message:
                    "invalid Redis URL '\(redacted)': rediss:// (TLS) is not supported because hiredis 0.14 has no TLS; use redis:// through a TLS tunnel such as stunnel, or a unix socket"
            )
        case "redis", "unix":
            break
        default:
            throw invalid("unsupported scheme '\(scheme)'; use redis:// or unix://")
        }

        var username: String?
        var password: String?
        // Credentials end at the last '@' (passwords may contain '/', '?' and '@'; hosts, ports,
        // databases and socket paths never contain '@').
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let user: Substring
            let pass: Substring?
            if let colon = credentials.firstIndex(of: ":") {
                user = credentials[..<colon]
                pass = credentials[credentials.index(after: colon)...]
            } else {
                // `redis://name@host` is a user name alone (its password from REDIS_PASSWORD), as
                // redis-cli and redis-py read it; `redis://:secret@host` is a password alone.
                user = credentials
                pass = nil
            }
            guard let decodedUser = String(user).removingPercentEncoding else {
                throw invalid("user name has a bad percent-escape")
            }
            username = decodedUser.isEmpty ? nil : decodedUser
            if let pass {
                guard let decodedPass = String(pass).removingPercentEncoding else {
                    throw invalid("password has a bad percent-escape")
                }
                password = decodedPass.isEmpty ? nil : decodedPass
            }
        }

        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        var database = 0
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0] == "db" || parts[0] == "database" else {
                throw invalid("unknown query parameter '\(pair)'")
            }
            guard let db = Int(parts[1]) else { throw invalid("database '\(parts[1])' is not a number") }
            database = db
        }

        let endpoint: Endpoint
        var additionalSeeds: [Endpoint] = []
        if scheme == "unix" {
            guard rest.hasPrefix("/"), rest.count > 1 else {
                throw invalid("a unix socket URL needs an absolute path, e.g. unix:///run/redis.sock")
            }
            try Self.checkSingleSocket(rest, invalid: invalid)
            endpoint = .unix(path: String(rest))
        } else {
            var hostPort = rest
            if let slash = rest.firstIndex(of: "/") {
                hostPort = rest[..<slash]
                let path = rest[rest.index(after: slash)...]
                if !path.isEmpty {
                    guard let db = Int(path) else { throw invalid("database '\(path)' is not a number") }
                    database = db
                }
            }
            let seeds = try Self.parseSeeds(hostPort, invalid: invalid)
            endpoint = seeds[0]
            additionalSeeds = Array(seeds.dropFirst())
        }
        self.endpoint = endpoint
        self.additionalSeeds = additionalSeeds
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        try validate()
    }

    private func validate() throws(RedisError) {
        guard database >= 0 else {
            throw RedisError(code: .invalidConfiguration, message: "database \(database) is negative")
        }
        guard connectTimeout > .zero, commandTimeout > .zero else {
            throw RedisError(code: .invalidConfiguration, message: "timeouts must be positive")
        }
        try validateSeeds()
    }

    /// The URL with any password replaced by `***`, for messages.
    ///
    /// A well-formed URL keeps its user name (`redis://app:***@host`, `redis://app@host`). A URL
    /// without `://` (`admin:pw@host`, `redis:/admin:pw@host`, `redis//admin:pw@host`) cannot be
    /// split reliably, so everything up to its last `@` is masked (`***@host`).
    public static func redact(url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else {
            guard let at = url.lastIndex(of: "@") else { return url }
            return "***" + url[at...]
        }
        let afterScheme = url[schemeEnd.upperBound...]
        guard let at = afterScheme.lastIndex(of: "@") else { return url }
        let credentials = afterScheme[..<at]
        let redactedCredentials: String
        if let colon = credentials.firstIndex(of: ":") {
            redactedCredentials = credentials[..<colon] + ":***"
        } else {
            redactedCredentials = String(credentials)  // a user name alone: no password to hide
        }
        return url[..<schemeEnd.upperBound] + redactedCredentials + afterScheme[at...]
    }

    /// The endpoint, user and database, e.g. `127.0.0.1:6379 db 2 user app (password set)`.
    /// The password itself is never shown.
    public var description: String {
        var text = endpoint.description
        if database != 0 { text += " db \(database)" }
        if let username { text += " user \(username)" }
        if password != nil { text += " (password set)" }
        return text
    }
}

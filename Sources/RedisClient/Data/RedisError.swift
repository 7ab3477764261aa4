import ErrorCodes

/// An error from the Redis layer.
///
/// The ``code`` says what kind of failure it was; ``message`` names the cause (and the address
/// where one is involved). Passwords never appear in either: messages are built from hiredis's
/// error strings, server replies and redacted configuration only.
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible, CategorizedError {
    /// The kind of failure. Closed: only the static lets exist (nobody else can make a code), and
    /// each has one stable snake_case name, the one logs, metrics and JSON output show.
    public struct Code: ClosedErrorCode {
        /// The code's stable snake_case name, e.g. `connection_refused`.
        public let rawValue: String

        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// Every code, for tables and tests.
        public static let allCases: [Code] = [
            .connectionRefused, .timeout, .authenticationFailed, .server, .protocolError, .connectionClosed,
            .invalidConfiguration, .poolTimeout, .poolClosed, .scriptNotLoaded, .crossSlot,
        ]

        /// The server refused the connection or could not be reached (nothing listening, no route, bad socket path).
        public static let connectionRefused = Code("connection_refused")
        /// A connect, read or write did not finish within its configured timeout.
        public static let timeout = Code("timeout")
        /// AUTH was refused (wrong password, unknown or disabled ACL user).
        public static let authenticationFailed = Code("authentication_failed")
        /// The server answered with an error reply; ``RedisError/serverCode`` keeps its code (e.g. `WRONGTYPE`).
        public static let server = Code("server")
        /// The reply could not be parsed, or had a shape the caller did not expect.
        public static let protocolError = Code("protocol_error")
        /// The connection broke while a command was in flight (reset, end of file, I/O error).
        public static let connectionClosed = Code("connection_closed")
        /// The configuration (usually the URL) is not usable.
        public static let invalidConfiguration = Code("invalid_configuration")
        /// No pooled connection became free within the pool's wait timeout.
        public static let poolTimeout = Code("pool_timeout")
        /// The pool was shut down.
        public static let poolClosed = Code("pool_closed")
        /// The server does not have a script (`NOSCRIPT`) and this user may not load it (`SCRIPT LOAD`
        /// refused by the ACL): an administrator must load the scripts.
        public static let scriptNotLoaded = Code("script_not_loaded")
        /// The keys of one command (or script call) hash to different Redis Cluster slots, so no
        /// node can serve it; detected before sending. A programming error: give the keys one hash tag.
        public static let crossSlot = Code("cross_slot")
    }

    /// What kind of failure this is.
    public var code: Code
    /// A human-readable message naming the cause. Never contains a password.
    public var message: String
    /// For ``Code/server`` errors, the first word of Redis's reply (`WRONGTYPE`, `NOSCRIPT`, `ERR`, …).
    public var serverCode: String?
    /// The name of the command that failed (`HMGET`, `EVALSHA`, `SCRIPT LOAD`), when one is known.
    /// Never its arguments: they hold user ids and keys.
    public var command: String?
    /// The error that caused this one, when there is one (not part of equality).
    public var underlying: (any Error)?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What kind of failure this is.
    ///   - message: A message naming the cause; never a password.
    ///   - serverCode: For ``Code/server`` errors, the first word of the reply.
    ///   - command: The name of the failed command, without its arguments.
    ///   - underlying: The error that caused this one.
    public init(
        code: Code, message: String, serverCode: String? = nil, command: String? = nil, underlying: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.serverCode = serverCode
        self.command = command
        self.underlying = underlying
    }

    /// Equal when code, message, server code and command are (``underlying`` is not compared).
    public static func == (lhs: RedisError, rhs: RedisError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.serverCode == rhs.serverCode
            && lhs.command == rhs.command
    }

    /// Hashes what ``==`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(serverCode)
        hasher.combine(command)
    }

    /// Creates a ``Code/server`` error from a Redis error reply such as `WRONGTYPE Operation against…`.
    ///
    /// Replies with a known meaning get a message that says it in words (a permission refusal, a
    /// read-only replica, a full server, a cluster this client cannot route); the server's own text
    /// follows in parentheses. A script's ACL refusal (`ERR The user executing the script can't…`)
    /// gets ``serverCode`` `NOPERM`, like a direct refusal.
    public init(serverReply: String) {
        let word = serverReply.prefix { $0 != " " }
        var code = word.isEmpty ? "ERR" : String(word)
        if code == "ERR",
            serverReply.contains("executing the script can't") || serverReply.contains("ACL failure in script")
        {
            code = "NOPERM"
        }
        // The server's text without its code word (and, for a script's refusal, without the
        // script's digest and line).
        var text = String(serverReply.dropFirst(word.count).drop { $0 == " " })
        if code != word, let script = text.range(of: " script: ") { text = String(text[..<script.lowerBound]) }
        let message: String
        if let meaning = RedisError.meanings[code] {
            message = "\(meaning) (\(code): \(text))"
        } else {
            message = "redis replied with an error: \(serverReply)"
        }
        self.init(code: .server, message: message, serverCode: code)
    }

    /// What known error replies mean, in words.
    private static let meanings: [String: String] = [
        "NOPERM": "permission denied: the Redis ACL user may not do this",
        "WRONGPASS": "permission denied: Redis refused the user name or password",
        "NOAUTH": "permission denied: Redis requires a password and none was given",
        "READONLY": "redis is unavailable for writes: the server is a read-only replica; connect to the primary",
        "OOM": "redis is unavailable for writes: the server is out of memory (maxmemory reached with noeviction)",
        "LOADING": "redis is unavailable: the server is still loading its data set",
        "BUSY": "redis is unavailable: the server is busy running a script",
        "MASTERDOWN": "redis is unavailable: the replica has lost its link to the primary",
        "CLUSTERDOWN": "redis is unavailable: the cluster is down",
        "TRYAGAIN": "redis is unavailable: the cluster is resharding these keys; try again",
        "MOVED":
            "redis is unavailable: the keys live on another Redis Cluster node and the redirection was not followed (the cluster's map kept changing, or the client runs in standalone mode against a cluster: set TOKENLEDGER_REDIS_MODE=cluster or auto)",
        "ASK":
            "redis is unavailable: the Redis Cluster is migrating these keys and the redirection was not followed (the cluster's map kept changing, or the client runs in standalone mode against a cluster: set TOKENLEDGER_REDIS_MODE=cluster or auto)",
    ]

    /// Server error codes that mean the server cannot serve the request now (an outage, a replica,
    /// a full server, a cluster this client cannot route), not that the request was wrong.
    public static let unavailableServerCodes: Set<String> = [
        "READONLY", "OOM", "LOADING", "BUSY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "MOVED", "ASK",
    ]

    /// Server error codes that mean the user may not do this (ACL refusal, bad credentials).
    public static let permissionServerCodes: Set<String> = ["NOPERM", "WRONGPASS", "NOAUTH"]

    /// Whether the failure means the server could not be used at all (refused, timed out, closed),
    /// as opposed to a reply the server chose to send.
    public var isUnavailable: Bool {
        code == .connectionRefused || code == .timeout || code == .connectionClosed
            || code == .poolTimeout
    }

    /// Whether the server answered but cannot serve the request now: a read-only replica, out of
    /// memory, loading, busy, a cluster that is down or that this client cannot route (``unavailableServerCodes``),
    /// or a script the server does not have and this user may not load (``Code/scriptNotLoaded``).
    /// Retrying later (or elsewhere) can succeed; the request itself is fine.
    public var isServerUnavailable: Bool {
        if code == .scriptNotLoaded { return true }
        guard code == .server, let serverCode else { return false }
        return RedisError.unavailableServerCodes.contains(serverCode)
    }

    /// Whether the user may not do this: authentication failed, or the ACL refused a command or a key
    /// (``permissionServerCodes``, also inside a script). Retrying cannot help; an operator must act.
    public var isPermissionDenied: Bool {
        if code == .authenticationFailed { return true }
        guard code == .server, let serverCode else { return false }
        return RedisError.permissionServerCodes.contains(serverCode)
    }

    /// What the failure means: a wrong password or an ACL refusal is ``ErrorCategory/permissionDenied``;
    /// a server that cannot be used or cannot serve now (``isUnavailable``, ``isServerUnavailable``,
    /// a closed pool) is ``ErrorCategory/unavailable``; an unusable configuration is
    /// ``ErrorCategory/misuse``; anything else (an unexpected reply, `WRONGTYPE`) is
    /// ``ErrorCategory/internal``.
    public var category: ErrorCategory {
        if isPermissionDenied { return .permissionDenied }
        if isUnavailable || isServerUnavailable || code == .poolClosed { return .unavailable }
        if code == .invalidConfiguration || code == .crossSlot { return .misuse }
        return .internal
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}

/// An error from the Redis layer.
///
/// The ``code`` says what kind of failure it was; ``message`` names the cause (and the address
/// where one is involved). Passwords never appear in either: messages are built from hiredis's
/// error strings, server replies and redacted configuration only.
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure. Extensible: new codes can be added without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code's stable name.
        public let name: String

        /// Creates a code with a stable name.
        public init(_ name: String) { self.name = name }

        /// The server refused the connection or could not be reached (nothing listening, no route, bad socket path).
        public static let connectionRefused = Code("connectionRefused")
        /// A connect, read or write did not finish within its configured timeout.
        public static let timeout = Code("timeout")
        /// AUTH was refused (wrong password, unknown or disabled ACL user).
        public static let authenticationFailed = Code("authenticationFailed")
        /// The server answered with an error reply; ``RedisError/serverCode`` keeps its code (e.g. `WRONGTYPE`).
        public static let server = Code("server")
        /// The reply could not be parsed, or had a shape the caller did not expect.
        public static let protocolError = Code("protocolError")
        /// The connection broke while a command was in flight (reset, end of file, I/O error).
        public static let connectionClosed = Code("connectionClosed")
        /// The configuration (usually the URL) is not usable.
        public static let invalidConfiguration = Code("invalidConfiguration")
        /// No pooled connection became free within the pool's wait timeout.
        public static let poolTimeout = Code("poolTimeout")
        /// The pool was shut down.
        public static let poolClosed = Code("poolClosed")

        /// The code's name.
        public var description: String { name }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A human-readable message naming the cause. Never contains a password.
    public var message: String
    /// For ``Code/server`` errors, the first word of Redis's reply (`WRONGTYPE`, `NOSCRIPT`, `ERR`, …).
    public var serverCode: String?

    /// Creates an error.
    public init(code: Code, message: String, serverCode: String? = nil) {
        self.code = code
        self.message = message
        self.serverCode = serverCode
    }

    /// Creates a ``Code/server`` error from a Redis error reply such as `WRONGTYPE Operation against…`.
    public init(serverReply: String) {
        let word = serverReply.prefix { $0 != " " }
        self.init(
            code: .server,
            message: "redis replied with an error: \(serverReply)",
            serverCode: word.isEmpty ? "ERR" : String(word)
        )
    }

    /// Whether the failure means the server could not be used at all (refused, timed out, closed),
    /// as opposed to a reply the server chose to send.
    public var isUnavailable: Bool {
        code == .connectionRefused || code == .timeout || code == .connectionClosed
            || code == .poolTimeout
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}

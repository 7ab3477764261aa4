import RedisClient

/// An error from the accounting layer that is neither bad input (``ValidationError``) nor a Redis
/// transport failure (``RedisClient/RedisError``, passed through as it is).
public struct LedgerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure. Extensible.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code's stable name.
        public let name: String
        /// Creates a code.
        public init(_ name: String) { self.name = name }
        /// A counter would pass 2^53 − 1, the largest value the scripts keep exact.
        public static let overflow = Code("overflow")
        /// Stored data has an unexpected shape (another program wrote the key?).
        public static let corruptData = Code("corruptData")
        /// The user's cycle policy kept changing while we tried to write.
        public static let policyChanged = Code("policyChanged")
        /// A spooled event belongs to another namespace than the repository replaying it.
        public static let namespaceMismatch = Code("namespaceMismatch")
        /// The event's cycle is past retention: its counters and call ids were deleted, so the event
        /// cannot be applied exactly once. Nothing was written; it is parked (spool: the rejected file).
        public static let cycleRetired = Code("cycleRetired")
        /// `rollover --now` (or ``RolloverOptions/now``) is later than the Redis server's clock
        /// allows: closing a running cycle early would delete its counters.
        public static let instantInFuture = Code("instantInFuture")
        /// A bug or a broken installation (e.g. scripts missing).
        public static let internalError = Code("internalError")
        /// The code's name.
        public var description: String { name }
    }

    /// What kind of failure.
    public var code: Code
    /// What went wrong, naming the user or key involved.
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}

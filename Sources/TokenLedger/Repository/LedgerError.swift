import RedisClient

/// An error from the accounting layer that is neither bad input (``ValidationError``) nor a Redis
/// transport failure (``RedisClient/RedisError``, passed through as it is).
public struct LedgerError: Error, Sendable, Hashable, CustomStringConvertible, CategorizedError {
    /// The kind of failure. Closed: only the static lets exist, each with one stable snake_case name.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, CaseIterable {
            case overflow
            case corruptData = "corrupt_data"
            case policyChanged = "policy_changed"
            case namespaceMismatch = "namespace_mismatch"
            case cycleRetired = "cycle_retired"
            case instantInFuture = "instant_in_future"
            case busy
            case newerSchema = "newer_schema"
            case lockLost = "lock_lost"
            case missingScript = "missing_script"
            case scriptMismatch = "script_mismatch"
            case unexpectedReply = "unexpected_reply"
            case notReady = "not_ready"
        }

        private let base: Base

        private init(_ base: Base) { self.base = base }

        /// The code's stable snake_case name, e.g. `corrupt_data`.
        public var rawValue: String { base.rawValue }
        /// The code's stable snake_case name (``rawValue``).
        public var name: String { base.rawValue }

        /// Every code, for tables and tests.
        public static var allCases: [Code] { Base.allCases.map(Code.init) }

        /// A counter would pass 2^53 − 1, the largest value the scripts keep exact.
        public static let overflow = Code(.overflow)
        /// Stored data has an unexpected shape (another program wrote the key?).
        public static let corruptData = Code(.corruptData)
        /// The user's cycle policy kept changing while we tried to write.
        public static let policyChanged = Code(.policyChanged)
        /// A spooled event belongs to another namespace than the repository replaying it.
        public static let namespaceMismatch = Code(.namespaceMismatch)
        /// The event's cycle is past retention: its counters and call ids were deleted, so the event
        /// cannot be applied exactly once. Nothing was written; it is parked (spool: the rejected file).
        public static let cycleRetired = Code(.cycleRetired)
        /// `rollover --now` (or ``RolloverOptions/now``) is later than the Redis server's clock
        /// allows: closing a running cycle early would delete its counters.
        public static let instantInFuture = Code(.instantInFuture)
        /// Another run of the same job holds its lock.
        public static let busy = Code(.busy)
        /// The data's schema version is newer than this build understands.
        public static let newerSchema = Code(.newerSchema)
        /// A job's lock expired while it ran; another run may have taken over.
        public static let lockLost = Code(.lockLost)
        /// A Lua script is missing from TokenLedger's resources (a broken installation).
        public static let missingScript = Code(.missingScript)
        /// The server holds a script under a digest other than the script's (a broken server or installation).
        public static let scriptMismatch = Code(.scriptMismatch)
        /// Redis answered with a reply of a shape the command never returns.
        public static let unexpectedReply = Code(.unexpectedReply)
        /// The recorder was used before its schema check or settings read finished (a bug).
        public static let notReady = Code(.notReady)

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

    /// What the failure means: overflow and a retired cycle are ``ErrorCategory/badInput`` (the
    /// event cannot apply); corrupt data is ``ErrorCategory/corruptData``, a newer schema
    /// ``ErrorCategory/incompatibleData``; a
    /// policy that kept changing, a busy lock and a lost lock are ``ErrorCategory/unavailable``
    /// (a retry can succeed); another namespace's event and an instant past the server's clock are
    /// ``ErrorCategory/misuse``; the rest (a broken installation, an unexpected reply, a bug) are
    /// ``ErrorCategory/internal``.
    public var category: ErrorCategory {
        switch code {
        case .overflow, .cycleRetired: .badInput
        case .corruptData: .corruptData
        case .newerSchema: .incompatibleData
        case .policyChanged, .busy, .lockLost: .unavailable
        case .namespaceMismatch, .instantInFuture: .misuse
        default: .internal
        }
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}

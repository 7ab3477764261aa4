import ErrorCodes
import RedisClient

/// An error from the accounting layer that is neither bad input (``ValidationError``) nor a Redis
/// transport failure (`RedisError`, passed through as it is).
public struct LedgerError: Error, Sendable, Hashable, CustomStringConvertible, CategorizedError {
    /// The kind of failure. Closed: only the static lets exist, each with one stable snake_case name.
    public struct Code: ClosedErrorCode {
        /// The code's stable snake_case name, e.g. `corrupt_data`.
        public let rawValue: String

        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// Every code, for tables and tests.
        public static let allCases: [Code] = [
            .overflow, .corruptData, .policyChanged, .namespaceMismatch, .cycleRetired, .cycleFolded, .instantInFuture,
            .busy,
            .newerSchema, .olderSchema, .lockLost, .missingScript, .scriptMismatch, .unexpectedReply, .notReady,
            .notReplicated,
        ]

        /// A counter would pass 2^53 − 1, the largest value the scripts keep exact.
        public static let overflow = Code("overflow")
        /// Stored data has an unexpected shape (another program wrote the key?).
        public static let corruptData = Code("corrupt_data")
        /// The user's cycle policy kept changing while we tried to write.
        public static let policyChanged = Code("policy_changed")
        /// A spooled event belongs to another namespace than the repository replaying it.
        public static let namespaceMismatch = Code("namespace_mismatch")
        /// The event's cycle is past retention: its counters and call ids were deleted, so the event
        /// cannot be applied exactly once. Nothing was written; it is parked (spool: the rejected file).
        public static let cycleRetired = Code("cycle_retired")
        /// The cycle was folded into its history summary after the dedupe window (rollover): it has
        /// no counters of its own left, so `reset` cannot zero them (the history is immutable).
        /// Nothing was changed.
        public static let cycleFolded = Code("cycle_folded")
        /// `rollover --now` (or ``RolloverOptions/now``) is later than the Redis server's clock
        /// allows: closing a running cycle early would delete its counters.
        public static let instantInFuture = Code("instant_in_future")
        /// Another run of the same job holds its lock.
        public static let busy = Code("busy")
        /// The data's schema version is newer than this build understands.
        public static let newerSchema = Code("newer_schema")
        /// The data's schema version is older than this build writes (version 1 stored call ids as
        /// they were): `tokenledger migrate` converts it; nothing is written before.
        public static let olderSchema = Code("older_schema")
        /// A job's lock expired while it ran; another run may have taken over.
        public static let lockLost = Code("lock_lost")
        /// A Lua script is missing from TokenLedger's resources (a broken installation).
        public static let missingScript = Code("missing_script")
        /// The server holds a script under a digest other than the script's (a broken server or installation).
        public static let scriptMismatch = Code("script_mismatch")
        /// Redis answered with a reply of a shape the command never returns.
        public static let unexpectedReply = Code("unexpected_reply")
        /// The recorder was used before its schema check or settings read finished (a bug).
        public static let notReady = Code("not_ready")
        /// A record or settle was applied but fewer replicas than ``LedgerConfiguration/replicaWait``
        /// asks for acknowledged it in time: a failover now could lose it. Retrying is safe (the
        /// call id makes it idempotent); a ``UsageRecorder`` with a spool keeps it in the spool.
        public static let notReplicated = Code("not_replicated")
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

    /// What the failure means: overflow, a retired cycle and a folded one are
    /// `ErrorCategory.badInput` (the event or the reset cannot apply); corrupt data is `ErrorCategory.corruptData`, a newer schema
    /// `ErrorCategory.incompatibleData`; a
    /// policy that kept changing, a busy lock, a lost lock and a write not acknowledged by enough
    /// replicas are `ErrorCategory.unavailable`
    /// (a retry can succeed); another namespace's event and an instant past the server's clock are
    /// `ErrorCategory.misuse`; the rest (a broken installation, an unexpected reply, a bug) are
    /// `ErrorCategory.internal`.
    public var category: ErrorCategory {
        switch code {
        case .overflow, .cycleRetired, .cycleFolded: .badInput
        case .corruptData: .corruptData
        case .newerSchema, .olderSchema: .incompatibleData
        case .policyChanged, .busy, .lockLost, .notReplicated: .unavailable
        case .namespaceMismatch, .instantInFuture: .misuse
        default: .internal
        }
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}

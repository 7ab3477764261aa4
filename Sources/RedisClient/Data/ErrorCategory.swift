/// What a failure means for whoever handles it: retry later, ask an operator, fix the input, repair
/// the stored data, or report a bug.
///
/// Every error TokenLedger throws has exactly one category (``CategorizedError/category``), decided
/// in one place per error type; ``of(_:)`` classifies any error. The quota guard (fail-open or
/// fail-closed), the recorder (spool or reject) and the CLI (its exit status) all decide from it.
public enum ErrorCategory: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Redis cannot serve the request now (unreachable, timed out, a read-only replica, out of
    /// memory, loading, scripts not loaded, a conflict that a retry resolves). Retrying later can
    /// succeed; the request itself is fine.
    case unavailable
    /// The Redis user may not do this (a wrong password, an ACL refusal). Retrying cannot help; an
    /// operator must act.
    case permissionDenied = "permission_denied"
    /// The request's input was refused (a bad user id, a count out of range, a malformed response).
    /// Nothing was written; retrying the same input fails the same way.
    case badInput = "bad_input"
    /// Stored data is not what TokenLedger writes (a non-numeric counter, a negative reservation).
    /// Nothing was written; an administrator must repair it.
    case corruptData = "corrupt_data"
    /// Stored data is fine but newer than this build understands (a newer schema). Nothing was
    /// written; the request is kept (spooled events stay spooled) for an upgraded build.
    case incompatibleData = "incompatible_data"
    /// The request was refused by quota: the user has no tokens left for it.
    case quotaDenied = "quota_denied"
    /// The caller asked for something that cannot be done as asked (an unusable configuration, an
    /// instant past the server's clock, another namespace's event).
    case misuse
    /// A bug or a broken installation: an unexpected reply, a missing resource.
    case `internal`

    /// Whether retrying later can succeed (``unavailable``).
    public var isTransient: Bool { self == .unavailable }

    /// The stable snake_case name (``rawValue``).
    public var description: String { rawValue }

    /// The category of any error: its ``CategorizedError/category``, or ``internal`` for an error
    /// TokenLedger does not know.
    public static func of(_ error: any Error) -> ErrorCategory {
        (error as? any CategorizedError)?.category ?? .internal
    }
}

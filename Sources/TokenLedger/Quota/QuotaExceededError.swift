import RedisClient

/// Thrown by ``QuotaGuard`` when a user's quota does not admit the call; the model was not called.
public struct QuotaExceededError: Error, Sendable, Hashable, CustomStringConvertible, CategorizedError {
    /// The decision that refused the call.
    public var decision: QuotaDecision

    /// Creates the error.
    public init(decision: QuotaDecision) { self.decision = decision }

    /// A rate denial's wait (``QuotaDecision/retryAfterMilliseconds``): retrying after it may be admitted;
    /// `nil` for a cycle limit's denial and for a request that never fits its `tpm` limit.
    public var retryAfter: Duration? { decision.retryAfterMilliseconds.map { .milliseconds($0) } }

    /// `ErrorCategory.quotaDenied`.
    public var category: ErrorCategory { .quotaDenied }

    /// Names the user, the limit that refused, the request and what was left.
    public var description: String {
        if decision.deniedBy != .tokens, decision.deniedBy != nil {
            return "quota exceeded for user '\(decision.user)' in cycle \(decision.cycle): "
                + (decision.denialReason ?? "the currency limit does not admit the call")
        }
        return
            "quota exceeded for user '\(decision.user)' in cycle \(decision.cycle): asked \(decision.requested) tokens, "
            + "\(decision.remaining.map(String.init) ?? "unlimited") remaining (used \(decision.used), reserved \(decision.reserved))"
    }
}

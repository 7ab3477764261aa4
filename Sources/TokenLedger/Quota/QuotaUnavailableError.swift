import RedisClient

/// Thrown by ``QuotaGuard`` under ``QuotaGuard/UnavailablePolicy/failClosed`` when Redis cannot be
/// reached for the quota decision; the model was not called.
public struct QuotaUnavailableError: Error, Sendable, CustomStringConvertible, CategorizedError {
    /// The user whose call was refused.
    public var user: String
    /// Why Redis could not decide.
    public var underlying: any Error

    /// Creates the error.
    public init(user: String, underlying: any Error) {
        self.user = user
        self.underlying = underlying
    }

    /// `ErrorCategory.unavailable`: a retry once Redis is back can succeed.
    public var category: ErrorCategory { .unavailable }

    /// Names the user and the cause.
    public var description: String {
        "quota for user '\(user)' could not be checked (Redis unavailable: \(underlying)); the call was refused (fail-closed)"
    }
}

import Foundation
import RedisClient
import Synchronization

// TokenRepository: quota checks and leases (check, reserve, release).
extension TokenRepository {
    /// Whether the user may spend `tokens` more in the current cycle. Read-only.
    ///
    /// - Throws: ``ValidationError``; `RedisError`.
    public func check(user: String, tokens: Int = 0, at instant: Date = Date()) async throws -> QuotaDecision {
        try Validation.validateUserID(user)
        try Validation.validateTokenCount(tokens, field: "tokens")
        let userKeys = try keys.user(user)
        let settings = try await settings()
        return try await withCycle(user: user, explicit: nil, at: instant, settings: settings) { target, assumed in
            let carried = try carriedCycleKeys(user: user, assumed: assumed, target: target.start, at: instant)
            let call = CheckScript(
                userKeys: userKeys, cycle: target.start, carried: carried, assumedPolicy: assumed, tokens: tokens,
                defaultLimit: settings.defaultLimit)
            switch try await run(call) {
            case .policy(let stored):
                return .retry(stored)
            case .decided(let allowed, let used, let reserved, let limit):
                return .done(
                    QuotaDecision(
                        allowed: allowed, user: user, cycle: target.start, used: used, reserved: reserved,
                        limit: limit, requested: tokens))
            }
        }
    }

    /// Takes a lease of `tokens` for a call if `used + reserved + tokens ≤ limit`, atomically.
    /// Idempotent per call id: a retry with the same amount while the lease is live changes nothing
    /// and is `held`; a retry with a different amount is a conflict (nothing changes).
    ///
    /// - Parameters:
    ///   - user: The user id (1–256 bytes of UTF-8, no control characters).
    ///   - callID: The call's id (1–128 bytes), which the later settle or release names.
    ///   - tokens: The tokens to hold for the call (0…10^12).
    ///   - ttl: How long the lease lives if never settled or released (default from the configuration);
    ///     1 ms to ``Validation/maximumLeaseTTL`` (7 days).
    ///   - instant: The time of the call (2000-01-01 to before 9999-01-01; see ``Validation/validateEventInstant(_:field:)``).
    /// - Throws: ``ValidationError`` (``ValidationError/Code/reservationConflict`` naming both amounts when
    ///   the call id holds a lease of another amount); ``LedgerError`` (``LedgerError/Code/newerSchema``);
    ///   `RedisError`.
    public func reserve(
        user: String, callID: String, tokens: Int, ttl: Duration? = nil, at instant: Date = Date()
    ) async throws -> Reservation {
        try Validation.validateUserID(user)
        try Validation.validateCallID(callID)
        try Validation.validateTokenCount(tokens, field: "tokens")
        try Validation.validateEventInstant(instant)
        let ttlMilliseconds = try Validation.leaseTTLMilliseconds(ttl ?? configuration.defaultLeaseTTL)
        let userKeys = try keys.user(user)
        let settings = try await settings()
        try await ensureWritableSchema()  // no round trip once settings() found it writable
        return try await withCycle(user: user, explicit: nil, at: instant, settings: settings) { target, assumed in
            let carried = try carriedCycleKeys(user: user, assumed: assumed, target: target.start, at: instant)
            let call = ReserveScript(
                userKeys: userKeys, cycle: target.start, carried: carried, assumedPolicy: assumed, callID: callID,
                tokens: tokens, ttlMilliseconds: ttlMilliseconds, defaultLimit: settings.defaultLimit)
            switch try await run(call) {
            case .policy(let stored):
                return .retry(stored)
            case .conflict(let held):
                throw ValidationError(
                    code: .reservationConflict, field: "tokens",
                    message:
                        "call id \(ValidationError.quoted(callID)) of user \(ValidationError.quoted(user)) already holds "
                        + "a reservation of \(held ?? "another amount of") tokens, not \(tokens); a retry must ask for the same amount "
                        + "(or release the lease first, or use a new call id)")
            case .decided(let reservation, let used, let reserved, let limit):
                let decision = QuotaDecision(
                    allowed: reservation != .denied, user: user, cycle: target.start, used: used,
                    reserved: reserved, limit: limit, requested: tokens)
                return .done(Reservation(status: reservation, decision: decision))
            }
        }
    }

    /// Drops a call's lease without recording usage (the call failed or was cancelled).
    ///
    /// - Returns: The tokens released (0 when the call held no live lease).
    public func release(user: String, callID: String) async throws -> Int {
        try Validation.validateUserID(user)
        try Validation.validateCallID(callID)
        let userKeys = try keys.user(user)
        try await ensureWritableSchema()
        return try await run(ReleaseScript(userKeys: userKeys, callID: callID))
    }
}

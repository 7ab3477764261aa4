import Foundation
import RedisClient
import Synchronization

// TokenRepository: quota checks and leases (check, reserve, release).
extension TokenRepository {
    /// Whether the user may spend `tokens` more in the current cycle. Read-only.
    ///
    /// - Throws: ``ValidationError``; ``RedisClient/RedisError``.
    public func check(user: String, tokens: Int = 0, at instant: Date = Date()) async throws -> QuotaDecision {
        try Validation.validateUserID(user)
        try Validation.validateTokenCount(tokens, field: "tokens")
        let userKeys = try keys.user(user)
        let settings = try await settings()
        return try await withCycle(user: user, explicit: nil, at: instant, settings: settings) { target, assumed in
            let carried = try carriedCycleKeys(user: user, assumed: assumed, target: target.start, at: instant)
            let reply = try await pool.evaluate(
                scripts.check,
                keys: [
                    userKeys.profile, userKeys.cycle(target.start), userKeys.leases, userKeys.leaseExpiry, userKeys.reserved,
                ] + carried,
                arguments: [assumed, tokens, Self.limitArgument(settings.defaultLimit)])
            let values = try policyOrValues(reply, user: user)
            guard case .values(let fields) = values else { return .retry(values.storedPolicy) }
            let numbers = try Self.integers(fields, count: 4, what: "check")
            return .done(
                QuotaDecision(
                    allowed: numbers[0] == 1, user: user, cycle: target.start, used: numbers[1], reserved: numbers[2],
                    limit: numbers[3] < 0 ? nil : numbers[3], requested: tokens))
        }
    }

    /// Takes a lease of `tokens` for a call if `used + reserved + tokens ≤ limit`, atomically.
    /// Idempotent per call id: a retry with the same amount while the lease is live changes nothing
    /// and is `held`; a retry with a different amount is a conflict (nothing changes).
    ///
    /// - Parameters:
    ///   - ttl: How long the lease lives if never settled or released (default from the configuration);
    ///     1 ms to ``Validation/maximumLeaseTTL`` (7 days).
    ///   - instant: The time of the call (2000-01-01 to before 9999-01-01; see ``Validation/validateEventInstant(_:field:)``).
    /// - Throws: ``ValidationError`` (``ValidationError/Code/reservationConflict`` naming both amounts when
    ///   the call id holds a lease of another amount); ``LedgerError`` (``LedgerError/Code/newerSchema``);
    ///   ``RedisClient/RedisError``.
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
            let reply = try await pool.evaluate(
                scripts.reserve,
                keys: [
                    userKeys.profile, userKeys.cycle(target.start), userKeys.calls(target.start), userKeys.leases,
                    userKeys.leaseExpiry, userKeys.reserved,
                ] + carried,
                arguments: [assumed, callID, tokens, ttlMilliseconds, Self.limitArgument(settings.defaultLimit)])
            guard let fields = reply.array, let status = fields.first?.string else {
                throw Self.unexpected(reply, what: "reserve")
            }
            if status == "policy" { return .retry(fields.count > 1 ? fields[1].string ?? "" : "") }
            if status == "conflict" {
                let held = fields.count > 4 ? fields[4].string ?? "another amount of" : "another amount of"
                throw ValidationError(
                    code: .reservationConflict, field: "tokens",
                    message: "call id \(ValidationError.quoted(callID)) of user \(ValidationError.quoted(user)) already holds "
                        + "a reservation of \(held) tokens, not \(tokens); a retry must ask for the same amount "
                        + "(or release the lease first, or use a new call id)")
            }
            guard let reservation = ReservationStatus(rawValue: status) else { throw Self.unexpected(reply, what: "reserve") }
            let numbers = try Self.integers(Array(fields.dropFirst()), count: 3, what: "reserve")
            let decision = QuotaDecision(
                allowed: reservation != .denied, user: user, cycle: target.start, used: numbers[0],
                reserved: numbers[1], limit: numbers[2] < 0 ? nil : numbers[2], requested: tokens)
            return .done(Reservation(status: reservation, decision: decision))
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
        let reply: RedisReply
        do {
            reply = try await pool.evaluate(
                scripts.release, keys: [userKeys.reserved, userKeys.leases, userKeys.leaseExpiry], arguments: [callID])
        } catch let error as RedisError where error.serverCode == "BADSTATE" {
            throw Self.corruptState(error)
        }
        guard let fields = reply.array else { throw Self.unexpected(reply, what: "release") }
        return try Self.integers(fields, count: 2, what: "release")[0]
    }
}

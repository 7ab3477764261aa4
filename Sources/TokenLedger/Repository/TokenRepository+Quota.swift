import Foundation
import RedisClient
import Synchronization

// TokenRepository: quota checks and leases (check, reserve, release).
extension TokenRepository {
    /// Whether the user may spend `tokens` (costing `cost`) more in the current cycle: both the token
    /// limit and the currency limit must allow it. Read-only.
    ///
    /// - Parameters:
    ///   - user: The user id.
    ///   - tokens: The tokens the next call needs (0…10^12).
    ///   - cost: What the next call is expected to cost (0 to 2^53 − 1 nano-USD); see ``estimateCost(model:inputTokens:maxOutputTokens:)``.
    ///   - instant: The time of the check.
    /// - Throws: ``ValidationError``; `RedisError`.
    public func check(user: String, tokens: Int = 0, cost: Cost = .zero, at instant: Date = Date()) async throws
        -> QuotaDecision
    {
        try Validation.validateUserID(user)
        try Validation.validateTokenCount(tokens, field: "tokens")
        try Validation.validateCurrencyAmount(cost, field: "usd")
        let userKeys = try keys.user(user)
        let settings = try await settings()
        // The user's decision and its groups, read in the same round trip (one slot).
        let (decision, groups) = try await withCycle(user: user, explicit: nil, at: instant, settings: settings) {
            target, assumed -> Attempt<(QuotaDecision, ScopeGroups)> in
            let carried = try carriedCycleKeys(user: user, assumed: assumed, target: target.start, at: instant)
            let call = CheckScript(
                userKeys: userKeys, cycle: target.start, carried: carried, assumedPolicy: assumed, tokens: tokens,
                defaultLimit: settings.defaultLimit, cost: cost.nanoUSD,
                defaultLimitUSD: settings.defaultLimitUSD?.nanoUSD, defaultTPM: settings.defaultTPM,
                defaultRPM: settings.defaultRPM)
            let groupsRead = ScopesScript(userKeys: userKeys, callID: "")
            let replies = try await pool.evaluateMany([call.call(scripts), groupsRead.call(scripts)])
            switch try call.decode(replies[0]) {
            case .policy(let stored):
                return .retry(stored)
            case .decided(let allowed, let counts):
                let decision = counts.decision(
                    allowed: allowed, user: user, cycle: target.start, requested: tokens, requestedCost: cost)
                return .done((decision, try groupsRead.decode(replies[1]).groups))
            }
        }
        guard decision.allowed else { return decision }
        return try await checkGroups(
            decision, groups: groups, tokens: tokens, cost: cost, at: instant, settings: settings)
    }

    /// Takes a lease of `tokens` and `cost` for a call if `used + reserved + tokens ≤ limit` and
    /// `spent + reserved cost + cost ≤ currency limit` (the cycle's recorded spend), atomically: both
    /// amounts are held by one script in the user's slot. Idempotent per call id: a retry with the
    /// same amounts while the lease is live changes nothing and is `held`; a retry with other amounts
    /// is a conflict (nothing changes). A reservation also fires the currency soft thresholds that the
    /// recorded spend has reached (docs/cost.md).
    ///
    /// - Parameters:
    ///   - user: The user id (1–256 bytes of UTF-8, no control characters).
    ///   - callID: The call's id (1–128 bytes), which the later settle or release names.
    ///   - tokens: The tokens to hold for the call (0…10^12).
    ///   - cost: The nano-USD to hold (0 to 2^53 − 1; default zero: a reservation by tokens only).
    ///   - ttl: How long the lease lives if never settled or released (default from the configuration);
    ///     1 ms to ``Validation/maximumLeaseTTL`` (7 days).
    ///   - instant: The time of the call (2000-01-01 to before 9999-01-01; see ``Validation/validateEventInstant(_:field:)``).
    /// - Throws: ``ValidationError`` (``ValidationError/Code/reservationConflict`` naming both amounts when
    ///   the call id holds a lease of another amount); ``LedgerError`` (``LedgerError/Code/newerSchema``);
    ///   `RedisError`.
    public func reserve(
        user: String, callID: String, tokens: Int, cost: Cost = .zero, ttl: Duration? = nil, at instant: Date = Date()
    ) async throws -> Reservation {
        try Validation.validateUserID(user)
        try Validation.validateCallID(callID)
        try Validation.validateTokenCount(tokens, field: "tokens")
        try Validation.validateCurrencyAmount(cost, field: "usd")
        try Validation.validateEventInstant(instant)
        let ttlMilliseconds = try Validation.leaseTTLMilliseconds(ttl ?? configuration.defaultLeaseTTL)
        let userKeys = try keys.user(user)
        let settings = try await settings()
        try await ensureWritableSchema()  // no round trip once settings() found it writable
        let (reservation, groups) = try await withCycle(user: user, explicit: nil, at: instant, settings: settings) {
            target, assumed -> Attempt<(Reservation, ScopeGroups)> in
            let carried = try carriedCycleKeys(user: user, assumed: assumed, target: target.start, at: instant)
            let call = ReserveScript(
                userKeys: userKeys, cycle: target.start, carried: carried, assumedPolicy: assumed, callID: callID,
                tokens: tokens, ttlMilliseconds: ttlMilliseconds, defaultLimit: settings.defaultLimit,
                cost: cost.nanoUSD, defaultLimitUSD: settings.defaultLimitUSD?.nanoUSD,
                thresholds: thresholdsArgument, user: user, defaultTPM: settings.defaultTPM,
                defaultRPM: settings.defaultRPM)
            switch try await run(call) {
            case .policy(let stored):
                return .retry(stored)
            case .conflict(let held, let heldCost):
                let heldUSD = heldCost.flatMap(Int.init).map { Cost(nanoUSD: $0).description } ?? "0.000000000"
                let sameTokens = held == String(tokens)
                throw ValidationError(
                    code: .reservationConflict, field: sameTokens ? "usd" : "tokens",
                    message:
                        "call id \(ValidationError.quoted(callID)) of user \(ValidationError.quoted(user)) already holds "
                        + "a reservation of \(held ?? "another amount of") tokens and \(heldUSD) USD, not \(tokens) tokens "
                        + "and \(cost) USD; a retry must ask for the same amounts "
                        + "(or release the lease first, or use a new call id)")
            case .decided(let reservation, let counts):
                let decision = counts.decision(
                    allowed: reservation != .denied, user: user, cycle: target.start, requested: tokens,
                    requestedCost: cost)
                return .done((Reservation(status: reservation, decision: decision), counts.groups))
            }
        }
        guard reservation.status == .admitted || reservation.status == .held, !groups.scopes.isEmpty else {
            return reservation
        }
        return try await admitInGroups(
            reservation, groups: groups, callID: callID, tokens: tokens, cost: cost, ttlMilliseconds: ttlMilliseconds,
            at: instant, settings: settings)
    }

    /// Drops a call's lease without recording usage (the call failed or was cancelled).
    ///
    /// - Returns: The tokens released (0 when the call held no live lease).
    public func release(user: String, callID: String) async throws -> Int {
        try await releaseLease(user: user, callID: callID).tokens
    }

    /// Drops a call's lease, its tokens and its cost, without recording usage, in the user and in
    /// every group the lease was taken in.
    ///
    /// - Returns: What was released (zero when the call held no live lease).
    public func releaseLease(user: String, callID: String) async throws -> ReleasedLease {
        try Validation.validateUserID(user)
        try Validation.validateCallID(callID)
        let userKeys = try keys.user(user)
        try await ensureWritableSchema()
        let (released, groups) = try await run(ReleaseScript(userKeys: userKeys, callID: callID))
        try await releaseInGroups(groups.scopes, user: user, callID: callID)
        return released
    }

    /// The cost of a call's estimate at the model's current price: `inputTokens` priced as input
    /// (at the model's tier for that many input tokens) plus `maxOutputTokens` priced as output.
    ///
    /// - Returns: The cost, or `nil` when the model has no price (default file or override). A
    ///   reservation of an unpriced model is by tokens only (docs/cost.md).
    /// - Throws: ``ValidationError`` for counts out of range; `RedisError` reading the overrides.
    public func estimateCost(model: String, inputTokens: Int, maxOutputTokens: Int = 0) async throws -> Cost? {
        try Validation.validateTokenCount(inputTokens, field: "tokens")
        try Validation.validateTokenCount(maxOutputTokens, field: "max_output_tokens")
        let table = try await PriceStore(pool: pool, namespace: keys.namespace).table()
        return try table.cost(of: UsageRecord(inputTokens: inputTokens, outputTokens: maxOutputTokens), model: model)?
            .cost
    }
}

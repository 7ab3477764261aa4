import Foundation
import RedisClient

// TokenRepository: all-or-nothing admission across a user's scopes (user, then team, then org).
// The argument that it never overspends a scope and never leaks a hold is in docs/quota.md, "Scopes".
extension TokenRepository {
    /// Settings as a group sees them: the namespace's default limits (token, currency, rate) are per
    /// user, so a team or an org without a limit of its own is unlimited; its policy defaults to the
    /// namespace's.
    static func settings(_ settings: Settings, for scope: LedgerScope) -> Settings {
        guard scope.kind != .user else { return settings }
        var scoped = settings
        scoped.defaultLimit = nil
        scoped.defaultLimitUSD = nil
        scoped.defaultTPM = nil
        scoped.defaultRPM = nil
        return scoped
    }

    /// The user's admitted (or held) reservation, then the same lease in each group in a fixed order
    /// (team, then org), each atomic in its own slot. A group that denies (or fails) ends it: every
    /// hold already taken is released, the user's included, and the denial names the group.
    func admitInGroups(
        _ reservation: Reservation, groups: ScopeGroups, callID: String, tokens: Int, cost: Cost,
        ttlMilliseconds: Int, at instant: Date, settings: Settings
    ) async throws -> Reservation {
        let user = reservation.decision.user
        let scopedID = Self.scopedCallID(user: user, callID: callID)
        var taken: [LedgerScope] = []
        for scope in groups.scopes {
            let outcome: Reservation
            do {
                outcome = try await reserve(
                    in: scope, scopedID: scopedID, user: user, tokens: tokens, cost: cost,
                    ttlMilliseconds: ttlMilliseconds, at: instant, settings: settings)
            } catch {
                // Best effort: what is not released here expires with its lease.
                _ = try? await releaseAdmission(user: user, callID: callID, groups: taken)
                throw error
            }
            switch outcome.status {
            case .admitted, .held:
                taken.append(scope)
            case .settled:
                continue
            case .denied:
                _ = try? await releaseAdmission(user: user, callID: callID, groups: taken)
                return outcome
            }
        }
        return reservation
    }

    /// One group's lease for a user's call (`reserve.lua` on the group's keys).
    private func reserve(
        in scope: LedgerScope, scopedID: String, user: String, tokens: Int, cost: Cost, ttlMilliseconds: Int,
        at instant: Date, settings: Settings
    ) async throws -> Reservation {
        let scopeKeys = try keys.scope(scope)
        let scoped = Self.settings(settings, for: scope)
        return try await withCycle(scope: scope, explicit: nil, at: instant, settings: scoped) { target, assumed in
            let carried = try carriedCycleKeys(scope: scope, assumed: assumed, target: target.start, at: instant)
            let call = ReserveScript(
                userKeys: scopeKeys, cycle: target.start, carried: carried, assumedPolicy: assumed, callID: scopedID,
                tokens: tokens, ttlMilliseconds: ttlMilliseconds, defaultLimit: nil, cost: cost.nanoUSD,
                defaultLimitUSD: nil, thresholds: thresholdsArgument, user: scope.description, forUser: false)
            switch try await run(call) {
            case .policy(let stored):
                return .retry(stored)
            case .conflict(let held, _):
                throw ValidationError(
                    code: .reservationConflict, field: "tokens",
                    message: "the call id of user \(ValidationError.quoted(user)) already holds a reservation of "
                        + "\(held ?? "another amount of") tokens in \(scope), not \(tokens); a retry must ask for the same amounts"
                )
            case .decided(let status, let counts):
                var decision = counts.decision(
                    allowed: status != .denied, user: user, cycle: target.start, requested: tokens, requestedCost: cost)
                if status == .denied { decision.deniedScope = scope.description }
                return .done(Reservation(status: status, decision: decision))
            }
        }
    }

    /// Releases a user's lease and the leases of `groups` (an admission a group denied).
    private func releaseAdmission(user: String, callID: String, groups: [LedgerScope]) async throws {
        let (_, recorded) = try await run(ReleaseScript(userKeys: try keys.user(user), callID: callID))
        try await releaseInGroups(Array(Set(groups + recorded.scopes)), user: user, callID: callID)
    }

    /// Drops a user's call's lease in each group (one batch; in a cluster each to its group's slot).
    func releaseInGroups(_ groups: [LedgerScope], user: String, callID: String) async throws {
        if groups.isEmpty { return }
        let scopedID = Self.scopedCallID(user: user, callID: callID)
        _ = try await runAll(
            try groups.map { ReleaseScript(userKeys: try keys.scope($0), callID: scopedID) })
    }

    /// Checks each group of an allowed user decision in order (team, then org); the first denial,
    /// naming its group, is the answer.
    func checkGroups(
        _ decision: QuotaDecision, groups: ScopeGroups, tokens: Int, cost: Cost, at instant: Date, settings: Settings
    ) async throws -> QuotaDecision {
        for scope in groups.scopes {
            let scopeKeys = try keys.scope(scope)
            let scoped = Self.settings(settings, for: scope)
            let denial: QuotaDecision? = try await withCycle(
                scope: scope, explicit: nil, at: instant, settings: scoped
            ) { target, assumed in
                let carried = try carriedCycleKeys(scope: scope, assumed: assumed, target: target.start, at: instant)
                let call = CheckScript(
                    userKeys: scopeKeys, cycle: target.start, carried: carried, assumedPolicy: assumed, tokens: tokens,
                    defaultLimit: nil, cost: cost.nanoUSD, defaultLimitUSD: nil)
                switch try await run(call) {
                case .policy(let stored):
                    return .retry(stored)
                case .decided(let allowed, let counts):
                    guard !allowed else { return .done(nil) }
                    var denial = counts.decision(
                        allowed: false, user: decision.user, cycle: target.start, requested: tokens, requestedCost: cost
                    )
                    denial.deniedScope = scope.description
                    return .done(denial)
                }
            }
            if let denial { return denial }
        }
        return decision
    }
}

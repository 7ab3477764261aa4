import Foundation
import RedisClient
import Synchronization

// TokenRepository: limits, cycle policies, reset and the event stream.
extension TokenRepository {
    /// Sets a user's own limit, which persists across cycles.
    public func setLimit(user: String, tokens: Int) async throws {
        try await setLimit(scope: .user(user), tokens: tokens)
    }

    /// Sets a scope's own token limit (a user's, a team's or an org's), which persists across cycles.
    public func setLimit(scope: LedgerScope, tokens: Int) async throws {
        let scopeKeys = try keys.scope(scope)
        try Validation.validateLimit(tokens)
        try await ensureWritableSchema()
        _ = try await run(ProfileScript(userKeys: scopeKeys, field: "limit", value: String(tokens)))
    }

    /// Removes a user's own limit (the default limit applies again).
    public func clearLimit(user: String) async throws { try await clearLimit(scope: .user(user)) }

    /// Removes a scope's own token limit (the default limit applies again).
    public func clearLimit(scope: LedgerScope) async throws {
        let scopeKeys = try keys.scope(scope)
        try await ensureWritableSchema()
        _ = try await run(ProfileScript(userKeys: scopeKeys, field: "limit", value: ""))
    }

    /// A user's own limit and the default limit (`nil`: none).
    public func limit(user: String) async throws -> (own: Int?, default: Int?) {
        try await limit(scope: .user(user))
    }

    /// A scope's own token limit and the default limit (`nil`: none).
    public func limit(scope: LedgerScope) async throws -> (own: Int?, default: Int?) {
        let profile = try keys.scope(scope).profile
        let stored = try await pool.send(HGET(profile, field: "limit"))
        let settings = Self.settings(try await settings(fresh: true), for: scope)
        // A stored limit that is not a number is reported, never read as "no limit of its own".
        if let text = stored, !text.isEmpty {
            guard let limit = Int(text), limit >= 0 else {
                throw LedgerError(
                    code: .corruptData, message: "\(profile) limit is '\(text.prefix(40))', not a non-negative integer")
            }
            return (Int(limit), settings.defaultLimit)
        }
        return (nil, settings.defaultLimit)
    }

    /// Sets (or with `nil` clears) the limit for users without one of their own.
    public func setDefaultLimit(_ tokens: Int?) async throws {
        if let tokens { try Validation.validateLimit(tokens, field: "default limit") }
        try await setSetting("default_limit", tokens.map(String.init) ?? "")
    }

    /// Sets (or with `nil` clears) a user's own cycle policy.
    ///
    /// A change never starts a fresh quota: when the cycle running at `instant` under the previous
    /// policy is not the new policy's cycle, its usage keeps counting against the user's limit
    /// (check and reserve) until it ends (a *carry*, stored with the policy; see
    /// `docs/operations.md`, changing a cycle policy). Usage is still booked to the new policy's cycles.
    ///
    /// - Parameters:
    ///   - user: The user id (1–256 bytes of UTF-8, no control characters).
    ///   - policy: The user's own policy; `nil` clears it, so the default policy applies.
    ///   - instant: When the change happens (picks the running cycles). Default now.
    public func setCyclePolicy(user: String, policy: BillingCyclePolicy?, at instant: Date = Date()) async throws {
        try await setCyclePolicy(scope: .user(user), policy: policy, at: instant)
    }

    /// ``setCyclePolicy(user:policy:at:)`` for any scope: a team's or an org's cycles follow its own
    /// policy (default: the namespace default), with the same carry on a change.
    public func setCyclePolicy(scope: LedgerScope, policy: BillingCyclePolicy?, at instant: Date = Date())
        async throws
    {
        let userKeys = try keys.scope(scope)
        let user = scope.argument
        let profile = userKeys.profile
        let settings = try await settings(fresh: true)
        let before = try await pool.send(HGET(profile, field: "policy")) ?? ""
        let previous = try StoredPolicy.decode(before, user: user)
        let oldCycle = (previous.policy ?? settings.defaultPolicy).cycle(containing: instant)
        let newCycle = (policy ?? settings.defaultPolicy).cycle(containing: instant)
        var carries = previous.carries.filter { carry in carry.untilInstant.map { instant < $0 } ?? false }
        if oldCycle.start != newCycle.start && !carries.contains(where: { $0.cycle == oldCycle.start }) {
            carries.append(PolicyCarry(cycle: oldCycle.start, until: ISO8601Instant.format(oldCycle.endInstant)))
        }
        carries.removeAll { $0.cycle == newCycle.start }
        let encoded = try StoredPolicy(policy: policy, carries: carries).encoded()
        try await ensureWritableSchema()
        _ = try await run(ProfileScript(userKeys: userKeys, field: "policy", value: encoded))
        policyHints.withLock { $0[scope.cacheKey] = encoded }
    }

    /// A user's cycle policy and whether it is their own (else it is the default).
    public func cyclePolicy(user: String) async throws -> (policy: BillingCyclePolicy, isOverride: Bool) {
        try await cyclePolicy(scope: .user(user))
    }

    /// A scope's cycle policy and whether it is its own (else it is the default).
    public func cyclePolicy(scope: LedgerScope) async throws -> (policy: BillingCyclePolicy, isOverride: Bool) {
        let stored = try await pool.send(HGET(try keys.scope(scope).profile, field: "policy")) ?? ""
        let settings = try await settings(fresh: true)
        guard let policy = try StoredPolicy.decode(stored, user: scope.argument).policy else {
            return (settings.defaultPolicy, false)
        }
        return (policy, true)
    }

    /// Sets (or with `nil` resets to monthly, UTC) the policy for users without one of their own.
    public func setDefaultCyclePolicy(_ policy: BillingCyclePolicy?) async throws {
        try await setSetting("default_policy", try policy.map(Self.encodePolicy) ?? "")
    }

    /// Zeroes a user's counters for a cycle (the current one by default), keeping the limit, the
    /// policy and the recorded call ids, and appends an audit event with the previous values.
    ///
    /// A cycle with nothing recorded (a user who never recorded in it) is left alone: no key and no
    /// audit event is written. A cycle rollover closed stays closed (a later call amends its history).
    /// A cycle rollover folded into its history summary after the dedupe window is refused: its
    /// counters are the summary's, and the history is immutable.
    ///
    /// - Parameters:
    ///   - user: The user id (1–256 bytes of UTF-8, no control characters).
    ///   - cycle: The start date of the cycle to zero; `nil` (default): the user's cycle running at `instant`.
    ///   - instant: The time that picks the cycle when `cycle` is `nil`. Default now.
    ///   - actor: Who or what asked (kept in the audit event).
    /// - Returns: The usage as it was before the reset (no calls and no tokens: nothing was reset).
    /// - Throws: ``LedgerError`` with code `cycleFolded` (nothing changed) when rollover folded the
    ///   cycle; ``ValidationError`` for a bad user id.
    public func reset(
        user: String, cycle: CalendarDate? = nil, at instant: Date = Date(), actor: String = "tokenledger"
    ) async throws -> UserUsage {
        try Validation.validateUserID(user)
        try await ensureWritableSchema()
        // Lenient: reset is how an administrator repairs a cycle whose counters are corrupt.
        let before = try await usage(user: user, cycle: cycle, at: instant, lenient: true)
        let userKeys = try keys.user(user)
        let reply = try await run(ResetScript(userKeys: userKeys, user: user, cycle: before.cycle, actor: actor))
        if reply == .folded {
            throw LedgerError(
                code: .cycleFolded,
                message: "cycle \(before.cycle) of user \(ValidationError.quoted(user)) was folded into its history "
                    + "summary after the dedupe window (rollover): it has no counters left to reset and the history "
                    + "is not changed by reset; nothing was reset")
        }
        return before
    }

    /// The user's event stream (threshold and reset events), oldest first, as field dictionaries.
    ///
    /// - Parameters:
    ///   - user: The user id (1–256 bytes of UTF-8, no control characters).
    ///   - count: The most events to return: 1…100 000.
    public func events(user: String, count: Int = 100) async throws -> [[String: String]] {
        try Validation.validateUserID(user)
        guard (1...100_000).contains(count) else {
            throw ValidationError(
                code: .invalidLimit, field: "count", message: "count is \(count); it must be from 1 to 100000")
        }
        let entries = try await pool.send(XRANGE(try keys.user(user).events, count: count))
        return entries.map { entry in entry.fields.merging(["id": entry.id]) { field, _ in field } }
    }

    private func setSetting(_ field: String, _ value: String) async throws {
        try await ensureWritableSchema()
        _ = try await run(ConfigScript(keySet: keys, field: field, value: value))
        settingsCache.withLock { $0 = nil }
    }
}

import RedisClient
import Synchronization

// TokenRepository: currency limits per cycle (a user's own in the profile's `limit_usd_nano`, the
// default in the config's `default_limit_usd_nano`; integer nano-USD, see docs/cost.md).
extension TokenRepository {
    /// Sets a user's own currency limit per cycle, which persists across cycles, beside the token limit.
    ///
    /// - Parameters:
    ///   - user: The user id.
    ///   - usd: The limit (0 to 2^53 − 1 nano-USD).
    /// - Throws: ``ValidationError`` naming `usd` (nothing stored); `RedisError`.
    public func setCurrencyLimit(user: String, usd: Cost) async throws {
        try await setCurrencyLimit(scope: .user(user), usd: usd)
    }

    /// ``setCurrencyLimit(user:usd:)`` for any scope (a team's or an org's own currency limit).
    public func setCurrencyLimit(scope: LedgerScope, usd: Cost) async throws {
        let scopeKeys = try keys.scope(scope)
        try Validation.validateCurrencyAmount(usd, field: "usd")
        try await ensureWritableSchema()
        _ = try await run(ProfileScript(userKeys: scopeKeys, field: "limit_usd_nano", value: String(usd.nanoUSD)))
    }

    /// Removes a user's own currency limit (the default currency limit applies again).
    public func clearCurrencyLimit(user: String) async throws { try await clearCurrencyLimit(scope: .user(user)) }

    /// Removes a scope's own currency limit (the default currency limit applies again).
    public func clearCurrencyLimit(scope: LedgerScope) async throws {
        let scopeKeys = try keys.scope(scope)
        try await ensureWritableSchema()
        _ = try await run(ProfileScript(userKeys: scopeKeys, field: "limit_usd_nano", value: ""))
    }

    /// A user's own currency limit and the default one (`nil`: none).
    ///
    /// - Throws: ``LedgerError`` (``LedgerError/Code/corruptData``) when a stored limit is not a
    ///   non-negative integer up to 2^53 − 1; `RedisError`.
    public func currencyLimit(user: String) async throws -> (own: Cost?, default: Cost?) {
        try await currencyLimit(scope: .user(user))
    }

    /// A scope's own currency limit and the default one (`nil`: none).
    public func currencyLimit(scope: LedgerScope) async throws -> (own: Cost?, default: Cost?) {
        let profile = try keys.scope(scope).profile
        let stored = try await pool.send(HGET(profile, field: "limit_usd_nano"))
        let settings = Self.settings(try await settings(fresh: true), for: scope)
        guard let text = stored else { return (nil, settings.defaultLimitUSD) }
        guard let nano = Int(text), nano >= 0, nano <= Validation.maximumLimit else {
            throw LedgerError(
                code: .corruptData,
                message: "\(profile) limit_usd_nano is '\(text.prefix(40))', not a non-negative integer")
        }
        return (Cost(nanoUSD: nano), settings.defaultLimitUSD)
    }

    /// Sets (or with `nil` clears) the currency limit for users without one of their own.
    ///
    /// - Throws: ``ValidationError`` naming `default usd` (nothing stored); `RedisError`.
    public func setDefaultCurrencyLimit(_ usd: Cost?) async throws {
        if let usd { try Validation.validateCurrencyAmount(usd, field: "default usd") }
        try await ensureWritableSchema()
        _ = try await run(
            ConfigScript(keySet: keys, field: "default_limit_usd_nano", value: usd.map { String($0.nanoUSD) } ?? ""))
        settingsCache.withLock { $0 = nil }
    }
}

import RedisClient
import Synchronization

// TokenRepository: rate limits per scope (the profile's `tpm` and `rpm`, the defaults in the config's
// `default_tpm` and `default_rpm`; docs/quota.md, "Rate limits").
extension TokenRepository {
    /// The largest rate limit: ``Validation/maximumTokenCount`` (10^12) for both `tpm` and `rpm`.
    public static let maximumRateLimit = Validation.maximumTokenCount

    /// Sets a scope's own rate limits; a `nil` argument leaves that limit as it is. A limit applies to
    /// the calls charged from then on: the window holds only what was charged while a limit applied.
    ///
    /// - Parameters:
    ///   - scope: A user, a team or an org.
    ///   - tpm: Tokens per sliding 60 s (1…10^12), or `nil` to keep the current one.
    ///   - rpm: Requests per sliding 60 s (1…10^12), or `nil` to keep the current one.
    /// - Returns: The scope's limits after the change.
    /// - Throws: ``ValidationError`` naming `tpm` or `rpm` (nothing stored; also when both are `nil`);
    ///   `RedisError`.
    @discardableResult
    public func setRateLimit(scope: LedgerScope, tpm: Int?, rpm: Int?) async throws -> RateLimits {
        let scopeKeys = try keys.scope(scope)
        guard tpm != nil || rpm != nil else {
            throw ValidationError(
                code: .invalidLimit, field: "tpm", message: "give a tpm or an rpm limit (or both) to set")
        }
        if let tpm { try Self.validateRateLimit(tpm, field: "tpm") }
        if let rpm { try Self.validateRateLimit(rpm, field: "rpm") }
        try await ensureWritableSchema()
        // Both limits in one script: a reader (an admission) sees the whole change or none of it.
        var changes: [ProfileScript.Change] = []
        if let tpm { changes.append(.init(field: "tpm", value: String(tpm))) }
        if let rpm { changes.append(.init(field: "rpm", value: String(rpm))) }
        _ = try await run(Self.profileScript(scopeKeys, changes))
        return try await rateLimits(scope: scope)
    }

    /// Removes a scope's own rate limits (the defaults apply again to a user; a group has none).
    @discardableResult
    public func clearRateLimit(scope: LedgerScope) async throws -> RateLimits {
        let scopeKeys = try keys.scope(scope)
        try await ensureWritableSchema()
        _ = try await run(
            Self.profileScript(scopeKeys, [.init(field: "tpm", value: ""), .init(field: "rpm", value: "")]))
        return try await rateLimits(scope: scope)
    }

    /// One `profile.lua` call making every change (at least one).
    static func profileScript(_ scopeKeys: LedgerKeys.User, _ changes: [ProfileScript.Change]) -> ProfileScript {
        ProfileScript(
            userKeys: scopeKeys, field: changes[0].field, value: changes[0].value, more: Array(changes.dropFirst()))
    }

    /// A scope's own rate limits and the defaults that apply to it.
    ///
    /// - Throws: ``LedgerError`` (``LedgerError/Code/corruptData``) when a stored limit is not an
    ///   integer from 1 to 2^53 − 1; `RedisError`.
    public func rateLimits(scope: LedgerScope) async throws -> RateLimits {
        let profile = try keys.scope(scope).profile
        let stored = try await pool.send(HMGET(profile, fields: ["tpm", "rpm"]))
        let settings = Self.settings(try await settings(fresh: true), for: scope)
        return RateLimits(
            scope: scope.description, tpm: try Self.rateLimit(stored["tpm"], key: profile, field: "tpm"),
            rpm: try Self.rateLimit(stored["rpm"], key: profile, field: "rpm"), defaultTPM: settings.defaultTPM,
            defaultRPM: settings.defaultRPM)
    }

    /// Sets the rate limits of users without their own; a `nil` argument leaves that default as it
    /// is, and `clear` removes both first.
    ///
    /// - Throws: ``ValidationError`` naming `default tpm` or `default rpm` (nothing stored); `RedisError`.
    public func setDefaultRateLimit(tpm: Int?, rpm: Int?, clear: Bool = false) async throws {
        if let tpm { try Self.validateRateLimit(tpm, field: "default tpm") }
        if let rpm { try Self.validateRateLimit(rpm, field: "default rpm") }
        try await ensureWritableSchema()
        // Both defaults in one script: a reader sees the whole change or none of it.
        var changes: [ProfileScript.Change] = []
        if clear || tpm != nil { changes.append(.init(field: "default_tpm", value: tpm.map(String.init) ?? "")) }
        if clear || rpm != nil { changes.append(.init(field: "default_rpm", value: rpm.map(String.init) ?? "")) }
        if let first = changes.first {
            _ = try await run(
                ConfigScript(keySet: keys, field: first.field, value: first.value, more: Array(changes.dropFirst())))
        }
        settingsCache.withLock { $0 = nil }
    }

    /// Checks a rate limit: an integer from 1 to ``maximumRateLimit``.
    static func validateRateLimit(_ limit: Int, field: String) throws(ValidationError) {
        guard limit < 1 || limit > maximumRateLimit else { return }
        throw ValidationError(
            code: .invalidLimit, field: field,
            message: "\(ValidationError.label(field)) is \(limit); rate limits must be integers from 1 to "
                + "\(maximumRateLimit) (clear the limit instead of setting 0)")
    }

    /// A stored rate limit (`nil`: none), checked: anything but an integer from 1 to 2^53 − 1 is corrupt.
    static func rateLimit(_ text: String?, key: String, field: String) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), value >= 1, value <= Validation.maximumLimit else {
            throw LedgerError(
                code: .corruptData, message: "\(key) \(field) is '\(text.prefix(40))', not a positive integer")
        }
        return value
    }
}

import Foundation
import RedisClient
import Synchronization

// TokenRepository: the namespace-wide settings (cached) and the schema-version check every writer makes.
extension TokenRepository {
    /// Namespace-wide settings stored in Redis.
    public struct Settings: Sendable, Hashable {
        /// The limit for users without one of their own; `nil` means unlimited.
        public var defaultLimit: Int?
        /// The cycle policy for users without one of their own.
        public var defaultPolicy: BillingCyclePolicy
        /// The currency limit per cycle for users without one of their own; `nil` means none.
        public var defaultLimitUSD: Cost? = nil
        /// The tokens-per-minute limit for users without one of their own; `nil` means none.
        public var defaultTPM: Int? = nil
        /// The requests-per-minute limit for users without one of their own; `nil` means none.
        public var defaultRPM: Int? = nil
    }

    /// The namespace-wide settings, re-read from Redis when the cache is older than
    /// ``LedgerConfiguration/settingsCacheTTL`` or when `fresh` is true.
    public func settings(fresh: Bool = false) async throws -> Settings {
        let now = ContinuousClock.now
        if !fresh, let cached = settingsCache.withLock({ $0 }), cached.expires > now { return cached.settings }
        let configRead = HMGET(
            keys.config,
            fields: ["default_limit", "default_policy", "default_limit_usd_nano", "default_tpm", "default_rpm"])
        let fields: [String: String]
        if schemaKnownWritable {
            fields = try await pool.send(configRead)
        } else {
            // Until the schema version was found writable, read it in the same round trip, so the
            // writers' check (ensureWritableSchema) costs nothing extra; a newer one is not an error
            // here (reads still work), writers refuse it.
            let schemaRead = GET(keys.schema)
            let replies = try await pool.pipeline([configRead.command, schemaRead.command])
            fields = try configRead.decodeReply(replies[0])
            switch schemaRead.decodeResult(replies[1]) {
            case .success(nil):
                break  // no version: ensureWritableSchema looks whether the namespace holds data
            case .success(let text?):
                if let version = Int(text), version == LedgerKeys.schemaVersion {
                    schemaWritable.withLock { $0 = true }
                }
            case .failure:
                break
            }
        }
        var settings = Settings(defaultLimit: nil, defaultPolicy: .default)
        if let text = fields["default_limit"] {
            guard let limit = Int(text) else {
                throw LedgerError(
                    code: .corruptData, message: "\(keys.config) default_limit is '\(text)', not a number")
            }
            settings.defaultLimit = limit
        }
        if let text = fields["default_limit_usd_nano"] {
            guard let nano = Int(text), nano >= 0, nano <= Validation.maximumLimit else {
                throw LedgerError(
                    code: .corruptData,
                    message: "\(keys.config) default_limit_usd_nano is '\(text.prefix(40))', not a non-negative integer"
                )
            }
            settings.defaultLimitUSD = Cost(nanoUSD: nano)
        }
        settings.defaultTPM = try Self.rateLimit(fields["default_tpm"], key: keys.config, field: "default_tpm")
        settings.defaultRPM = try Self.rateLimit(fields["default_rpm"], key: keys.config, field: "default_rpm")
        if let text = fields["default_policy"], !text.isEmpty {
            settings.defaultPolicy = try Self.decodePolicy(text, user: nil)
        }
        settingsCache.withLock { $0 = (settings, now + configuration.settingsCacheTTL) }
        return settings
    }

    /// Refuses to write into a namespace whose schema is newer than this build understands (only
    /// `migrate` looked before): every writer calls it. The stored version is read once per
    /// repository; once it was found writable the answer is cached, so the hot path pays one lock read.
    ///
    /// - Throws: ``LedgerError`` with code ``LedgerError/Code/newerSchema`` or
    ///   ``LedgerError/Code/olderSchema`` (a sentence naming both versions and what to do) or ``LedgerError/Code/corruptData``; `RedisError`.
    public func ensureWritableSchema() async throws {
        if schemaWritable.withLock({ $0 }) { return }
        if let text = try await pool.send(GET(keys.schema)) {
            guard let version = Int(text) else {
                throw LedgerError(
                    code: .corruptData, message: "\(keys.schema) is '\(text)', not a schema version number")
            }
            if version > LedgerKeys.schemaVersion {
                throw LedgerError(
                    code: .newerSchema,
                    message: "namespace '\(keys.namespace)' has schema version \(version), newer than this build's "
                        + "\(LedgerKeys.schemaVersion); nothing was written: upgrade tokenledger before writing to it")
            }
            if version < LedgerKeys.schemaVersion {
                throw LedgerError(
                    code: .olderSchema,
                    message: "namespace '\(keys.namespace)' has schema version \(version), older than this build's "
                        + "\(LedgerKeys.schemaVersion) (its call ids are stored in the old layout); nothing was written: "
                        + "run tokenledger migrate first")
            }
        } else {
            try await startSchemaOrRefuseUnversionedData()  // Migrations/UnversionedNamespace.swift
        }
        schemaWritable.withLock { $0 = true }
    }

    /// Whether ``ensureWritableSchema()`` already found the schema writable (never waits).
    var schemaKnownWritable: Bool { schemaWritable.withLock { $0 } }

    /// The namespace settings for a hot path: the cached ones, even if older than the TTL while a
    /// running ``UsageRecorder`` refreshes them in the background, so a record never waits on this
    /// read once one succeeded.
    func settingsWithoutWaiting() async throws -> Settings {
        if let cached = cachedSettings() { return cached }
        return try await settings()
    }

    /// The cached namespace settings, or `nil` before the first read. Never waits. Settings past
    /// the TTL are returned while a running ``UsageRecorder`` owns a refresh loop (which this asks
    /// for a refresh); without one, stale settings give `nil`, so the caller reads them again.
    func cachedSettings() -> Settings? {
        guard let cached = settingsCache.withLock({ $0 }) else { return nil }
        if cached.expires <= ContinuousClock.now, !settingsRefresher.requestRefresh() { return nil }
        return cached.settings
    }

    /// Refreshes stale settings on request (see ``cachedSettings()``) until the task is cancelled:
    /// a child task of ``UsageRecorder/run()``.
    func refreshSettingsInBackground() async {
        await settingsRefresher.run(for: self)
    }
}

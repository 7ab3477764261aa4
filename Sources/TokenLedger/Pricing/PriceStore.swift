import Foundation
import RedisClient

/// The administrators' price overrides in Redis, over the default price file (`tokenledger price`).
///
/// One hash per namespace, `NS:{global}:prices` (one cluster slot): model name → the override's
/// JSON (``PriceOverride``). An override replaces the default file's entry of the same name; deleting
/// it brings the default back. Setting many at once (``importOverrides(_:)``) is one `HSET`, so an
/// import is stored whole or not at all.
///
/// A price change applies to events priced after it; what was already recorded never changes
/// (SPEC "Cost and currency budgets").
///
/// ### Permissions
/// Reading (``overrides()``, ``table()``) needs `HGETALL`/`HGET` on the hash, which the documented
/// application ACL user has read-only; writing is the administrator's (`docs/operations.md`,
/// "Least privilege").
///
/// ### Threading
/// `Sendable`: share one store; each call uses the pool's connections.
public struct PriceStore: Sendable {
    /// The pool the store talks through.
    public let pool: RedisConnectionPool
    /// The keys of the namespace.
    public let keys: LedgerKeys
    /// The default prices the overrides sit on.
    public let defaults: PriceFile

    /// Creates a store. Nothing is sent until a method is called.
    ///
    /// - Parameters:
    ///   - pool: The Redis pool (standalone or cluster).
    ///   - namespace: The key namespace, e.g. `"tl"`.
    ///   - defaults: The default prices (the file shipped with the binary when not given).
    /// - Throws: ``ValidationError`` when the namespace is not valid or the default file is broken.
    public init(pool: RedisConnectionPool, namespace: String, defaults: PriceFile? = nil) throws(ValidationError) {
        self.pool = pool
        self.keys = try LedgerKeys(namespace: namespace)
        if let defaults {
            self.defaults = defaults
        } else {
            self.defaults = try PriceFile.bundled()
        }
    }

    /// Sets (or replaces) the override of one model.
    ///
    /// - Parameters:
    ///   - model: The model name, exactly as calls report it.
    ///   - price: The price.
    ///   - instant: The instant stored as `updated_at` (default now).
    /// - Returns: The stored override.
    /// - Throws: ``ValidationError`` for a bad model name (nothing stored); `RedisError` when Redis
    ///   fails or refuses (`NOPERM` for a user that may not write prices).
    @discardableResult
    public func set(model: String, price: ModelPrice, at instant: Date = Date()) async throws -> PriceOverride {
        let override = try PriceOverride(model: model, price: price, updatedAt: ISO8601Instant.format(instant))
        try await importOverrides([override])
        return override
    }

    /// Stores many overrides in one `HSET` (all or none), replacing those of the same models.
    ///
    /// - Parameter overrides: The overrides; none is a no-op.
    /// - Returns: How many models had no override before.
    /// - Throws: `RedisError` when Redis fails or refuses; nothing is stored then.
    @discardableResult
    public func importOverrides(_ overrides: [PriceOverride]) async throws -> Int {
        guard !overrides.isEmpty else { return 0 }
        var fields: [(field: String, value: String)] = []
        fields.reserveCapacity(overrides.count)
        for override in overrides {
            let value = try override.storedValue()
            fields.append((field: override.model, value: value))
        }
        return try await pool.send(HSET(keys.prices, fields: fields))
    }

    /// The override of exactly `model`, or `nil`.
    ///
    /// - Throws: `RedisError`; ``LedgerError/Code/corruptData`` when the stored value is not a valid price.
    public func override(model: String) async throws -> PriceOverride? {
        try Validation.validateIdentifier(model, field: "model", allowEmpty: false)
        guard let text = try await pool.send(HGET(keys.prices, field: model)) else { return nil }
        return try PriceOverride(model: model, storedValue: text, key: keys.prices)
    }

    /// Every override, sorted by model name.
    ///
    /// - Throws: `RedisError`; ``LedgerError/Code/corruptData`` naming the first stored value that is
    ///   not a valid price (values read back are checked, never trusted).
    public func overrides() async throws -> [PriceOverride] {
        let stored = try await pool.send(HGETALL(keys.prices))
        var result: [PriceOverride] = []
        result.reserveCapacity(stored.count)
        for model in stored.keys.sorted() {
            result.append(try PriceOverride(model: model, storedValue: stored[model]!, key: keys.prices))
        }
        return result
    }

    /// Removes the override of exactly `model`; the default file's entry, if any, applies again.
    ///
    /// - Returns: `false` when the model had no override (nothing changed).
    /// - Throws: ``ValidationError`` for a bad model name; `RedisError` when Redis fails or refuses.
    public func delete(model: String) async throws -> Bool {
        try Validation.validateIdentifier(model, field: "model", allowEmpty: false)
        return try await pool.send(HDEL(keys.prices, fields: [model])) > 0
    }

    /// The prices in effect now: the defaults with every override read from Redis.
    ///
    /// - Throws: As ``overrides()``.
    public func table() async throws -> PriceTable {
        PriceTable(defaults: defaults, overrides: try await overrides())
    }
}

extension LedgerKeys {
    /// Hash: model name → price override JSON (``PriceOverride``), what `price set`/`import` write.
    /// Namespace-wide (`{global}` tag, one cluster slot); read-only for the application's ACL user.
    public var prices: String { namespace + ":{global}:prices" }
}

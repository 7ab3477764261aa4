import Foundation
import Logging
import RedisClient
import Synchronization

// TokenRepository: the prices in effect (cached like the settings) and the cost of an event.
extension TokenRepository {
    /// The prices in effect: the default price file with the overrides of `NS:{global}:prices`,
    /// re-read from Redis when the cache is older than ``LedgerConfiguration/settingsCacheTTL`` or
    /// when `fresh` is true (a running ``UsageRecorder`` refreshes it in the background with the
    /// settings). So a `price set` applies to events built after the next refresh, within one TTL.
    ///
    /// - Throws: `RedisError`; ``LedgerError/Code/corruptData`` naming a stored override that is not
    ///   a valid price; ``ValidationError`` when the bundled price file is broken.
    public func priceTable(fresh: Bool = false) async throws -> PriceTable {
        let now = ContinuousClock.now
        if !fresh, let cached = priceCache.withLock({ $0 }), cached.expires > now { return cached.table }
        let store = try PriceStore(pool: pool, namespace: keys.namespace)
        let table = try await store.table()
        priceCache.withLock { $0 = (table, now + configuration.settingsCacheTTL) }
        return table
    }

    /// The cached price table for a hot path, or `nil` before the first read. Never waits; a table
    /// past the TTL is returned while a running ``UsageRecorder`` refreshes it (as
    /// ``cachedSettings()``), else `nil`, so the caller reads it again.
    func cachedPriceTable() -> PriceTable? {
        guard let cached = priceCache.withLock({ $0 }) else { return nil }
        if cached.expires <= ContinuousClock.now, !settingsRefresher.requestRefresh() { return nil }
        return cached.table
    }

    /// The cost of one event of `model`, priced once at the prices in effect now (cached, see
    /// ``priceTable(fresh:)``): what ``record(user:callID:usage:model:provider:cycle:at:)`` stores
    /// with it. An unpriced model is logged once per model per process and counted
    /// (`tokenledger_unpriced_calls_total`).
    ///
    /// - Throws: ``ValidationError`` for invalid counts or a cost above 2^53 − 1 nano-USD; as
    ///   ``priceTable(fresh:)`` when the prices cannot be read.
    public func eventCost(of usage: UsageRecord, model: String) async throws -> EventCost {
        if let table = cachedPriceTable() { return try eventCost(of: usage, model: model, table: table) }
        return try eventCost(of: usage, model: model, table: try await priceTable())
    }

    /// As ``eventCost(of:model:)`` with the cached table only (never waits): `nil` when no table is
    /// cached yet.
    func eventCostNow(of usage: UsageRecord, model: String) throws(ValidationError) -> EventCost? {
        guard let table = cachedPriceTable() else { return nil }
        return try eventCost(of: usage, model: model, table: table)
    }

    private func eventCost(of usage: UsageRecord, model: String, table: PriceTable) throws(ValidationError)
        -> EventCost
    {
        let cost = try EventCost(of: usage, model: model, table: table)
        if cost == .unpriced { noteUnpriced(model: model) }
        return cost
    }

    /// Counts an unpriced event and logs its model the first time this process meets it.
    func noteUnpriced(model: String) {
        metrics.unpricedCall()
        let first = Self.unpricedModelsLogged.withLock { $0.count < 10_000 && $0.insert(model).inserted }
        if first {
            logger.notice(
                "model has no price: its events are recorded without cost and counted in unpriced_calls (logged once per model; set one with tokenledger price set)",
                metadata: [LoggingKeys.model: "\(model)"])
        }
    }

    /// Models already logged as unpriced by this process (at most 10,000 remembered).
    static let unpricedModelsLogged = Mutex<Set<String>>([])
}

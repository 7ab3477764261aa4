import Synchronization

/// The price table a ``QuotaGuard`` prices its estimates with, read from Redis (the default file
/// merged with the administrators' overrides) at most once per `ttl`.
final class PriceTableCache: Sendable {
    private let ttl: Duration
    private let cached = Mutex<(table: PriceTable, expires: ContinuousClock.Instant)?>(nil)

    init(ttl: Duration) { self.ttl = ttl }

    /// The cached table, or a fresh one when the cache is empty or older than the TTL.
    func table(_ repository: TokenRepository) async throws -> PriceTable {
        let now = ContinuousClock.now
        if let entry = cached.withLock({ $0 }), entry.expires > now { return entry.table }
        let table = try await PriceStore(pool: repository.pool, namespace: repository.keys.namespace).table()
        cached.withLock { $0 = (table, now + ttl) }
        return table
    }
}

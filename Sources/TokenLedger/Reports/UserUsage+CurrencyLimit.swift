import RedisClient

// UserUsage: the currency limit's side of a usage snapshot.
extension UserUsage {
    /// Takes the currency limit and the reserved cost from a `usage.lua` snapshot (the spend the
    /// limit counts is ``money``'s cost, read with the cycle hash).
    ///
    /// - Throws: ``LedgerError`` (``LedgerError/Code/corruptData``) naming the key when the reserved
    ///   cost is not a non-negative integer.
    mutating func applyCurrency(_ snapshot: CycleSnapshot, key: String) throws(LedgerError) {
        limitUSD = snapshot.limitUSD.map { Cost(nanoUSD: $0) }
        guard snapshot.reservedCost >= 0 else {
            throw LedgerError(
                code: .corruptData,
                message: "\(key): the reserved cost is \(snapshot.reservedCost), not a non-negative integer")
        }
        reservedUSD = Cost(nanoUSD: snapshot.reservedCost)
    }
}

import RedisClient

// UserUsage: the currency limit's side of a usage snapshot.
extension UserUsage {
    /// Takes the currency limit and the reserved cost from a `usage.lua` snapshot, and the spend the
    /// limit counts (`cost_nano`, absent = 0) from its cycle hash.
    ///
    /// - Throws: ``LedgerError`` (``LedgerError/Code/corruptData``) naming the key when `cost_nano` or
    ///   the reserved cost is not a non-negative integer.
    mutating func applyCurrency(_ snapshot: CycleSnapshot, key: String) throws(LedgerError) {
        limitUSD = snapshot.limitUSD.map { Cost(nanoUSD: $0) }
        guard snapshot.reservedCost >= 0 else {
            throw LedgerError(
                code: .corruptData,
                message: "\(key): the reserved cost is \(snapshot.reservedCost), not a non-negative integer")
        }
        reservedUSD = Cost(nanoUSD: snapshot.reservedCost)
        let hash = snapshot.cycleHash
        for index in stride(from: 0, to: hash.count - 1, by: 2) where hash[index].string == "cost_nano" {
            spentForLimit = Cost(nanoUSD: try TokenCounts.storedCounter(hash[index + 1], key: key, field: "cost_nano"))
        }
    }
}

import Foundation
import RedisClient

// TokenRepository: reading a cycle that rollover folded into its history summary after the dedupe
// window (its cycle hash keeps only the marks `history:state` and `calls:dropped`).
extension TokenRepository {
    /// The cycle hash field rollover sets when it drops a cycle's call ids and folds its counters into
    /// the history summary (`calls_drop.lua`).
    static let droppedField = "calls:dropped"

    /// Whether a cycle hash (as `HGETALL` returns it) is one whose call ids rollover dropped: its
    /// counters are then read from the history summary.
    static func isFolded(_ cycleHash: [RedisReply]) -> Bool {
        stride(from: 0, to: cycleHash.count - 1, by: 2).contains { cycleHash[$0].string == droppedField }
    }

    /// The history summaries of `cycle` of the scopes `ids` of one kind (users, teams or orgs), by id;
    /// ids without one are left out.
    func closedSummaries(_ kind: LedgerScope.Kind, ids: [String], cycle: CalendarDate) async throws
        -> [String: CycleSummary]
    {
        if ids.isEmpty { return [:] }
        let key = keys.history(kind, cycle)
        var result: [String: CycleSummary] = [:]
        for start in stride(from: 0, to: ids.count, by: 1000) {
            let batch = Array(ids[start..<min(start + 1000, ids.count)])
            let texts = try await pool.send(HMGET(key, fields: batch))
            for (id, text) in texts {
                result[id] = try CycleSummary.stored(text, user: id, cycle: cycle, key: key)
            }
        }
        return result
    }

    /// `usage` with the counters, per-model split and money of a folded cycle's summary (the limit,
    /// reservations and cycle end stay those read now); unchanged when there is no summary.
    static func applying(_ summary: CycleSummary?, to usage: UserUsage) -> UserUsage {
        guard let summary else { return usage }
        var usage = usage
        usage.counts = summary.counts
        usage.models = summary.models
        usage.money = summary.money
        return usage
    }

    /// A scope's usage of a cycle from its snapshot, reading the history summary when rollover folded
    /// the cycle (see ``isFolded(_:)``). `lenient` (`reset`, which reports what it zeroes) reads the
    /// cycle hash as it is: a folded cycle has no counters left to reset.
    func closedAwareUsage(
        scope: LedgerScope, user: String, cycle: CalendarDate, _ snapshot: CycleSnapshot, settings: Settings,
        lenient: Bool
    ) async throws -> UserUsage {
        let usage = try makeUsage(
            user: user, cycle: cycle, snapshot, settings: settings, lenient: lenient, scope: scope)
        guard !lenient, Self.isFolded(snapshot.cycleHash) else { return usage }
        let summaries = try await closedSummaries(scope.kind, ids: [scope.id], cycle: cycle)
        return Self.applying(summaries[scope.id], to: usage)
    }
}

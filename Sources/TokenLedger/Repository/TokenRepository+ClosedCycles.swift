import Foundation
import RedisClient

// TokenRepository: reading a cycle that rollover folded into its history summary after the dedupe
// window (its cycle hash is gone and the scope's profile field `folded` names the cycle or a later
// one; `is_folded` in common.lua).
extension TokenRepository {
    /// The profile field `calls_drop.lua` sets to the latest cycle it folded.
    static let foldedField = "folded"
    /// The cycle hash field that marks a closed (`closed`) or folded (`folded`) cycle.
    static let stateField = "history:state"
    /// The cycle hash field with which builds before the profile's ``foldedField`` marked a folded
    /// cycle (or one whose call ids they dropped); honoured until rollover folds the cycle anew.
    static let droppedField = "calls:dropped"

    /// Whether a cycle whose hash fields `state` (``stateField``), `calls` and `dropped`
    /// (``droppedField``) were read as given is folded, `foldedThrough` being the scope's profile field
    /// ``foldedField``: as `is_folded` in common.lua.
    static func isFolded(
        state: String?, calls: String?, dropped: String?, cycle: CalendarDate, foldedThrough: String?
    ) -> Bool {
        if state == "folded" || dropped != nil { return true }
        guard state == nil, calls == nil, let foldedThrough else { return false }
        return cycle.description <= foldedThrough
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
    /// the cycle (`CycleSnapshot.folded`). `lenient` (`reset`, which reports what it zeroes) reads the
    /// cycle hash as it is: a folded cycle has no counters left to reset.
    func closedAwareUsage(
        scope: LedgerScope, user: String, cycle: CalendarDate, _ snapshot: CycleSnapshot, settings: Settings,
        lenient: Bool
    ) async throws -> UserUsage {
        let usage = try makeUsage(
            user: user, cycle: cycle, snapshot, settings: settings, lenient: lenient, scope: scope)
        guard !lenient, snapshot.folded else { return usage }
        let summaries = try await closedSummaries(scope.kind, ids: [scope.id], cycle: cycle)
        return Self.applying(summaries[scope.id], to: usage)
    }
}

import Foundation
import RedisClient

extension Rollover {
    // MARK: - The dedupe window

    /// The user and cycle of a call fingerprint bucket key, `<ns>:{<user>}:calls:<D>:<bucket>`.
    func callBucketKey(_ key: String) -> (String, CalendarDate)? {
        guard let close = key.firstIndex(of: "}") else { return nil }
        let suffix = key[key.index(after: close)...]
        // ":calls:" + 10 characters of date + ":" + 2 hex digits
        guard suffix.hasPrefix(":calls:"), suffix.count == 7 + 10 + 3 else { return nil }
        let rest = suffix.dropFirst(7)
        guard rest.dropFirst(10).first == ":" else { return nil }
        let dateKey = String(key[...close]) + ":calls:" + rest.prefix(10)
        return perUserCycleKey(dateKey)
    }

    /// Drops the call ids of each (user, cycle) in `candidates` whose summary is in the history and
    /// whose cycle ended more than `windowDays` days before `today` (one day of slack for the time
    /// zones of cycle policies), and folds the cycle into its summary: the summary is rewritten in
    /// its compact form (``CompactSummary``, `history_compact.lua`, only if unchanged since read),
    /// then `calls_drop.lua` in the user's slot deletes the call ids and the cycle hash and records
    /// the cycle in the profile's `folded` field, so a later record or settle of it is parked and
    /// readers take the counters from the summary. A cycle with late calls not in the history yet,
    /// or not closed, is left for a later run.
    func applyDedupeWindow(
        _ candidates: [CalendarDate: Set<String>], today: CalendarDate, windowDays: Int, options: RolloverOptions,
        result: inout RolloverResult, keepAlive: () async throws -> Void
    ) async throws {
        for (cycle, userSet) in candidates.sorted(by: { $0.key < $1.key }) {
            let users = userSet.sorted()
            for start in stride(from: 0, to: users.count, by: options.batchSize) {
                let batch = Array(users[start..<min(start + options.batchSize, users.count)])
                let due = try await foldDue(
                    scope: .user, ids: batch, cycle: cycle, today: today, windowDays: windowDays,
                    dryRun: options.dryRun)
                if due.isEmpty { continue }
                if options.dryRun {
                    result.droppedCallIDs += due.count
                    continue
                }
                let replies = try await repository.runAll(
                    try due.map { user in CallsDropScript(userKeys: try keys.user(user), cycle: cycle) })
                for reply in replies {
                    if case .dropped = reply { result.droppedCallIDs += 1 }
                }
                try await keepAlive()
            }
        }
    }

    /// Of `ids` (users, or groups of `scope`), those whose summary of `cycle` is in the history and
    /// whose cycle ended more than the window ago; unless `dryRun`, their summaries are rewritten in
    /// the compact form first (a summary changed meanwhile by a late call is left as it is).
    func foldDue(
        scope: LedgerScope.Kind, ids: [String], cycle: CalendarDate, today: CalendarDate, windowDays: Int,
        dryRun: Bool
    ) async throws -> [String] {
        let historyKey = keys.history(scope, cycle)
        let summaries = try await pool.send(HMGET(historyKey, fields: ids))
        var due: [String] = []
        var compact: [(id: String, stored: String, compact: String)] = []
        for id in ids {
            guard let text = summaries[id] else { continue }
            let summary = try CycleSummary.stored(text, user: id, cycle: cycle, key: historyKey)
            guard summary.cycleEnd.adding(days: windowDays + 1) <= today else { continue }
            due.append(id)
        }
        due = try await withoutRunningCarries(due, scope: scope, cycle: cycle, today: today, windowDays: windowDays)
        for id in due {
            guard let text = summaries[id], !CompactSummary.isCompact(text) else { continue }
            let summary = try CycleSummary.stored(text, user: id, cycle: cycle, key: historyKey)
            if let short = CompactSummary.encode(summary) { compact.append((id, text, short)) }
        }
        if !dryRun && !compact.isEmpty {
            _ = try await repository.run(HistoryCompactScript(historyKey: historyKey, entries: compact))
        }
        return due
    }

    /// Of `ids`, those for which `cycle` is no carry of a cycle-policy change that still counts (or
    /// ended less than the window ago): after `cycle set`, the old cycle closes by the new policy's
    /// calendar while `check` and `reserve` keep reading its counters until the carry's `until`, so
    /// folding it then (which deletes the counters) would let its usage escape the limit.
    func withoutRunningCarries(
        _ ids: [String], scope: LedgerScope.Kind, cycle: CalendarDate, today: CalendarDate, windowDays: Int
    ) async throws -> [String] {
        if ids.isEmpty { return ids }
        let scopes = try ids.map { try LedgerScope(kind: scope, id: $0) }
        let policies = try await pool.pipeline(try scopes.map { HGET(try keys.scope($0).profile, field: "policy") })
        var kept: [String] = []
        for (id, stored) in zip(ids, policies) {
            let carries = try StoredPolicy.decode(stored ?? "", user: id).carries
            let running = carries.contains { carry in
                guard carry.cycle == cycle else { return false }
                // An unreadable end keeps the counters: folding can wait, a lost carry cannot.
                guard let end = try? CalendarDate(parsing: String(carry.until.prefix(10))) else { return true }
                return end.adding(days: windowDays + 1) > today
            }
            if !running { kept.append(id) }
        }
        return kept
    }
}

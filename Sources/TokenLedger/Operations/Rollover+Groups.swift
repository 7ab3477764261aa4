import Foundation
import RedisClient

extension Rollover {
    // MARK: - Teams and orgs

    /// A group's (team's or org's) cycle.
    struct GroupCycle: Hashable {
        var scope: LedgerScope
        var cycle: CalendarDate
    }

    /// What the scan found of the teams' and orgs' keys.
    struct GroupKeys {
        /// Group cycles with late calls pending (`late:D`).
        var late: Set<GroupCycle> = []
        /// Group cycles that started before the dedupe window and still hold call ids or a cycle hash.
        var withCallIDs: Set<GroupCycle> = []
        /// Group cycles with counters or call ids that started before the retention cutoff.
        var old: Set<GroupCycle> = []
        /// Group cycles with counters or call ids seen in the scan's current batch, not yet checked
        /// against their kind's index (``indexGroups(_:options:result:)``).
        var unindexed: Set<GroupCycle> = []
    }

    /// Notes a key of a team or an org in `groups`; returns `false` for any other key (a user's, a
    /// `{global}` one).
    func noteGroupKey(_ key: String, into groups: inout GroupKeys, windowStart: CalendarDate, cutoff: CalendarDate?)
        -> Bool
    {
        guard let scope = keys.scope(fromKey: key), scope.kind != .user, let close = key.firstIndex(of: "}"),
            (try? keys.scope(scope))?.prefix == String(key[...close]) + ":"
        else { return false }
        let suffix = key[key.index(after: close)...]
        for prefix in [":late:", ":cycle:", ":calls:"] where suffix.hasPrefix(prefix) {
            let rest = suffix.dropFirst(prefix.count)
            let bucketed = prefix == ":calls:" && rest.count == 13 && rest.dropFirst(10).first == ":"
            guard rest.count == 10 || bucketed, let cycle = try? CalendarDate(parsing: String(rest.prefix(10))) else {
                return true
            }
            let entry = GroupCycle(scope: scope, cycle: cycle)
            if prefix == ":late:" {
                groups.late.insert(entry)
                return true
            }
            groups.unindexed.insert(entry)
            // A cycle hash too: see the users' scan (an earlier build's dropped or folded cycle).
            if cycle < windowStart { groups.withCallIDs.insert(entry) }
            if let cutoff, cycle < cutoff { groups.old.insert(entry) }
            return true
        }
        return true
    }

    /// Adds the group cycles the scan's batch found (``GroupKeys/unindexed``) to their kind's index
    /// (`scope-index:KIND:D`, `index.lua`), as the scan does for users: the repair of an index write
    /// that a record's client lost. A dry run counts the missing entries.
    func indexGroups(_ groups: inout GroupKeys, options: RolloverOptions, result: inout RolloverResult)
        async throws
    {
        if groups.unindexed.isEmpty { return }
        let batches = Self.byKindAndCycle(groups.unindexed)
        groups.unindexed = []
        if options.dryRun {
            let memberships = try await pool.pipeline(
                batches.map { group, ids in SMISMEMBER(keys.scopeIndex(group.0, group.1), members: ids) })
            for indexed in memberships { result.indexAdded += indexed.values.filter { !$0 }.count }
        } else {
            let added = try await repository.runAll(
                batches.map { group, ids in IndexScript(keySet: keys, cycle: group.1, users: ids, kind: group.0) })
            result.indexAdded += added.reduce(0, +)
        }
    }

    /// Closes the ended cycles of every team and org in their kind's index (`scope-index:KIND:D`), as
    /// users' are closed: `close.lua` on the group's keys marks the cycle and takes its snapshot, and
    /// `history.lua` writes the group's summary once to `scope-history:KIND:D` (under the group's id)
    /// and grows `scope-history-totals:KIND:D`. Group cycles with late calls pending go to `late`.
    /// A cycle whose history already has as many groups as its index is skipped without a scan (as
    /// the users' close does), and the lock is refreshed (`keepAlive`) before every batch, whether
    /// the batch closes anything or not: a long run of batches of groups already closed, or whose
    /// cycles have not ended, must not outlast the lock.
    func closeGroups(
        _ options: RolloverOptions, settings: TokenRepository.Settings, late: inout Set<GroupCycle>,
        result: inout RolloverResult, keepAlive: () async throws -> Void
    ) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for kind in [LedgerScope.Kind.team, .org] {
            let cycles = cycleNames(try await pool.send(SMEMBERS(keys.scopeIndexedCycles(kind))))
            for cycle in cycles.sorted() {
                if options.now < cycle.adding(days: 1).firstInstant(in: .gmt).addingTimeInterval(-14 * 3600) {
                    continue
                }
                let counts = try await pool.pipeline([
                    SCARD(keys.scopeIndex(kind, cycle)).command, HLEN(keys.history(kind, cycle)).command,
                ])
                let indexed = try SCARD(keys.scopeIndex(kind, cycle)).decodeReply(counts[0])
                let summarized = try HLEN(keys.history(kind, cycle)).decodeReply(counts[1])
                if summarized >= indexed { continue }
                var ids: [String] = []
                for try await member in pool.sscan(keys.scopeIndex(kind, cycle), count: options.batchSize) {
                    ids.append(String(decoding: member, as: UTF8.self))
                }
                for start in stride(from: 0, to: ids.count, by: options.batchSize) {
                    try await keepAlive()
                    let batch = Array(ids[start..<min(start + options.batchSize, ids.count)])
                    let present = try await pool.send(HMGET(keys.history(kind, cycle), fields: batch))
                    let pending = batch.filter { present[$0] == nil }.compactMap {
                        try? LedgerScope(kind: kind, id: $0)
                    }
                    if pending.isEmpty { continue }
                    let policies = try await pool.pipeline(
                        try pending.map { HGET(try keys.scope($0).profile, field: "policy") })
                    var ended: [(scope: LedgerScope, end: CalendarDate)] = []
                    for (scope, policy) in zip(pending, policies) {
                        let policy = try TokenRepository.policy(
                            stored: policy ?? "", user: scope.description, settings: settings)
                        let target = policy.cycle(startingOn: cycle)
                        if target.hasEnded(at: options.now) { ended.append((scope, target.end)) }
                    }
                    if ended.isEmpty { continue }
                    let snapshots = try await repository.runAll(
                        try ended.map { entry in
                            CloseScript(
                                userKeys: try keys.scope(entry.scope), cycle: cycle, defaultLimit: nil,
                                mark: !options.dryRun)
                        })
                    var summaries: [(user: String, json: String)] = []
                    for (entry, snapshot) in zip(ended, snapshots) {
                        var pendingLate: Set<UserCycle> = []
                        let summary = try Self.summary(
                            user: entry.scope.id, cycle: cycle, end: entry.end, snapshot: snapshot,
                            lateKey: try keys.scope(entry.scope).late(cycle), late: &pendingLate)
                        if !pendingLate.isEmpty { late.insert(GroupCycle(scope: entry.scope, cycle: cycle)) }
                        summaries.append((entry.scope.id, String(decoding: try encoder.encode(summary), as: UTF8.self)))
                    }
                    if options.dryRun {
                        result.closedGroupCycles += ended.count
                    } else {
                        result.closedGroupCycles += try await repository.run(
                            HistoryScript(keySet: keys, cycle: cycle, summaries: summaries, kind: kind))
                    }
                }
            }
        }
    }

    /// Adds the groups' pending late calls to their kind's history (as ``amendHistory`` does for users).
    func amendGroupHistories(
        _ late: Set<GroupCycle>, options: RolloverOptions, result: inout RolloverResult,
        keepAlive: () async throws -> Void
    ) async throws {
        for entry in late.sorted(by: { ($0.cycle, $0.scope.description) < ($1.cycle, $1.scope.description) }) {
            if options.dryRun {
                result.amendedCalls += try await pool.send(HLEN(try keys.scope(entry.scope).late(entry.cycle)))
            } else {
                result.amendedCalls += try await repository.amendHistory(scope: entry.scope, cycle: entry.cycle).applied
            }
            try await keepAlive()
        }
    }

    /// The dedupe window for groups: folds each group cycle whose summary is in its kind's history and
    /// whose window has passed (as ``applyDedupeWindow`` does for users), so a later booking of it is
    /// parked, never counted twice.
    func applyGroupDedupeWindow(
        _ candidates: Set<GroupCycle>, today: CalendarDate, windowDays: Int, options: RolloverOptions,
        result: inout RolloverResult, keepAlive: () async throws -> Void
    ) async throws {
        for ((kind, cycle), ids) in Self.byKindAndCycle(candidates) {
            for start in stride(from: 0, to: ids.count, by: options.batchSize) {
                let batch = Array(ids[start..<min(start + options.batchSize, ids.count)])
                let due = try await foldDue(
                    scope: kind, ids: batch, cycle: cycle, today: today, windowDays: windowDays, dryRun: options.dryRun)
                if due.isEmpty { continue }
                if options.dryRun {
                    result.droppedGroupCallIDs += due.count
                    continue
                }
                let replies = try await repository.runAll(
                    try due.map { id in
                        CallsDropScript(userKeys: try keys.scope(try LedgerScope(kind: kind, id: id)), cycle: cycle)
                    })
                for reply in replies {
                    if case .dropped = reply { result.droppedGroupCallIDs += 1 }
                }
                try await keepAlive()
            }
        }
    }

    /// Retention for groups, at the users' horizon: a group's counters and call ids of a cycle that
    /// ended on or before the cutoff are deleted once its summary is in the history (`retention.lua`
    /// on the group's keys, which records `retired` in the group's profile), and a kind's index of a
    /// cycle before the cutoff with nothing left is dropped.
    func applyGroupRetention(
        _ old: Set<GroupCycle>, cutoff: CalendarDate, options: RolloverOptions, result: inout RolloverResult,
        keepAlive: () async throws -> Void
    ) async throws {
        var kept = Set<GroupCycle>()
        for ((kind, cycle), ids) in Self.byKindAndCycle(old) {
            let key = keys.history(kind, cycle)
            let summaries = try await pool.send(HMGET(key, fields: ids))
            var doomed: [LedgerScope] = []
            for id in ids {
                let scope = try LedgerScope(kind: kind, id: id)
                guard let text = summaries[id],
                    try CycleSummary.stored(text, user: id, cycle: cycle, key: key).cycleEnd <= cutoff
                else {
                    kept.insert(GroupCycle(scope: scope, cycle: cycle))
                    continue
                }
                doomed.append(scope)
            }
            if options.dryRun || doomed.isEmpty {
                result.deletedGroupCycles += doomed.count
                continue
            }
            let deletions = try await repository.runAll(
                try doomed.map { scope in RetentionScript(userKeys: try keys.scope(scope), cycle: cycle) })
            for (scope, deleted) in zip(doomed, deletions) {
                if let deleted {
                    result.deletedGroupCycles += 1
                    result.deletedKeys += deleted
                } else {
                    kept.insert(GroupCycle(scope: scope, cycle: cycle))
                }
            }
            try await keepAlive()
        }
        for kind in [LedgerScope.Kind.team, .org] {
            let keptCycles = Set(kept.filter { $0.scope.kind == kind }.map(\.cycle))
            let cycles = cycleNames(try await pool.send(SMEMBERS(keys.scopeIndexedCycles(kind))))
            for cycle in cycles.sorted() where cycle < cutoff && !keptCycles.contains(cycle) && !options.dryRun {
                _ = try await repository.run(CycleDropScript(keySet: keys, cycle: cycle, kind: kind))
            }
        }
    }

    /// Group cycles by (kind, cycle), each with its ids sorted; in that order.
    static func byKindAndCycle(_ entries: Set<GroupCycle>) -> [((LedgerScope.Kind, CalendarDate), [String])] {
        var groups: [String: (LedgerScope.Kind, CalendarDate, [String])] = [:]
        for entry in entries {
            let name = entry.scope.kind.rawValue + " " + entry.cycle.description
            groups[name, default: (entry.scope.kind, entry.cycle, [])].2.append(entry.scope.id)
        }
        return groups.sorted { $0.key < $1.key }.map { (($0.value.0, $0.value.1), $0.value.2.sorted()) }
    }
}

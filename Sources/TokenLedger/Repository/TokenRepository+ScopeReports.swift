import Foundation
import RedisClient

// TokenRepository: reports of groups (every team, or every org, with usage in a cycle).
extension TokenRepository {
    /// Every team (or every org) with usage in a cycle, from the kind's derived index
    /// (``LedgerKeys/scopeIndex(_:_:)``, written once per group and cycle). Each row's
    /// ``UserUsage/user`` is the group's name (`team:ID`); a group's limits are its own (no default).
    ///
    /// - Parameters:
    ///   - kind: `.team` or `.org` (`.user`: the users' report, ``report(cycle:top:sort:at:progress:)``).
    ///   - cycle: The start date of the cycle; `nil`: the default policy's cycle running at `instant`.
    ///   - top: Keep only the first `top` groups after sorting.
    ///   - sort: The order (largest first); ties by name.
    ///   - instant: The time that picks the cycle when `cycle` is `nil`.
    /// - Throws: ``ValidationError`` for a negative `top`; `RedisError`.
    public func report(
        scope kind: LedgerScope.Kind, cycle: CalendarDate? = nil, top: Int? = nil, sort: ReportSort = .total,
        at instant: Date = Date()
    ) async throws -> UsageReport {
        if kind == .user { return try await report(cycle: cycle, top: top, sort: sort, at: instant) }
        if let top, top < 0 {
            throw ValidationError(code: .invalidLimit, field: "top", message: "--top must be 0 or more, not \(top)")
        }
        let settings = try await settings()
        let cycleStart = cycle ?? settings.defaultPolicy.cycle(containing: instant).start
        var scopes: [LedgerScope] = []
        for try await member in pool.sscan(keys.scopeIndex(kind, cycleStart), count: 10_000) {
            if let scope = try? LedgerScope(kind: kind, id: String(decoding: member, as: UTF8.self)) {
                scopes.append(scope)
            }
        }
        var rows: [UserUsage] = []
        var totals = UsageReport.Totals()
        var unreadable: [UsageReport.UnreadableUser] = []
        for start in stride(from: 0, to: scopes.count, by: 1000) {
            let batch = Array(scopes[start..<min(start + 1000, scopes.count)])
            let calls = try batch.map { scope in
                UsageScript(
                    userKeys: try keys.scope(scope), cycle: cycleStart, assumedPolicy: "*", defaultLimit: nil,
                    defaultLimitUSD: nil)
            }
            let replies = try await runEach(calls)
            // Groups whose cycle rollover folded after the dedupe window: their counters are their summary's.
            let foldedIDs = zip(batch, replies).compactMap { scope, reply -> String? in
                guard case .success(.snapshot(let snapshot)) = reply, snapshot.folded else {
                    return nil
                }
                return scope.id
            }
            let folded = try await closedSummaries(kind, ids: foldedIDs, cycle: cycleStart)
            for (scope, reply) in zip(batch, replies) {
                do {
                    guard case .snapshot(let snapshot) = try reply.get() else {
                        throw LedgerError(
                            code: .unexpectedReply, message: "unexpected policy reply to usage for an explicit cycle")
                    }
                    var usage = try makeUsage(
                        user: scope.description, cycle: cycleStart, snapshot, settings: settings, scope: scope)
                    if snapshot.folded { usage = Self.applying(folded[scope.id], to: usage) }
                    if usage.inputTokens == 0 && usage.outputTokens == 0 && usage.calls == 0 { continue }
                    if let reason = totals.adding(usage.counts, money: usage.money, reserved: usage.reserved) {
                        unreadable.append(UsageReport.UnreadableUser(user: scope.description, reason: reason))
                        continue
                    }
                    rows.append(usage)
                } catch let error as LedgerError where error.code == .corruptData {
                    unreadable.append(UsageReport.UnreadableUser(user: scope.description, reason: error.message))
                }
            }
        }
        func key(_ usage: UserUsage) -> Int { sort.key(usage.counts, usage.money) }
        rows.sort { key($0) != key($1) ? key($0) > key($1) : $0.user < $1.user }
        if let top, rows.count > top { rows.removeSubrange(top...) }
        return UsageReport(cycle: cycleStart, users: rows, totals: totals, unreadable: unreadable)
    }
}

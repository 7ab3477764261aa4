import Foundation
import RedisClient

extension Rollover {
    // MARK: - Reading the history

    /// The cycles that have a history, oldest first (of users by default, or of teams or orgs).
    public func historyCycles(kind: LedgerScope.Kind = .user) async throws -> [CalendarDate] {
        cycleNames(try await pool.send(ZRANGE(keys.historyCycles(kind)))).sorted()
    }

    /// A cycle's history: every closed user's summary (sorted by user id), the totals and the late
    /// calls that amended it. With `kind` `.team` or `.org`, the groups' history of the cycle (each
    /// summary's ``CycleSummary/user`` is the group's id; `scope-history…` keys).
    ///
    /// - Throws: ``LedgerError`` with code ``LedgerError/Code/corruptData`` when a summary is not valid JSON.
    public func history(cycle: CalendarDate, kind: LedgerScope.Kind = .user) async throws -> CycleHistory {
        let hashes = try await pool.pipeline([
            HGETALL(keys.history(kind, cycle)), HGETALL(keys.historyTotals(kind, cycle)),
            HGETALL(keys.historyAdjustments(kind, cycle)),
        ])
        let decoder = JSONDecoder()
        var users: [CycleSummary] = []
        for (user, text) in hashes[0] {
            users.append(try CycleSummary.stored(text, user: user, cycle: cycle, key: keys.history(kind, cycle)))
        }
        users.sort { $0.user < $1.user }
        var totals = CycleHistory.Totals()
        for (field, text) in hashes[1] {
            guard let value = Int(text) else { continue }
            switch field {
            case "users": totals.users = value
            case "adjustments": totals.adjustments = value
            case "total_tokens": continue  // derived from input and output
            default:
                if totals.counts.set(storedField: field, to: value) { continue }
                if totals.money.set(storedField: field, to: value) { continue }
                totals.models.apply(modelField: field, value: value)
            }
        }
        var adjustments: [CycleHistory.Adjustment] = []
        for text in hashes[2].values {
            guard let entry = try? decoder.decode(CycleHistory.Adjustment.self, from: Data(text.utf8)) else {
                throw LedgerError(
                    code: .corruptData,
                    message: "\(keys.historyAdjustments(kind, cycle)) holds an invalid entry: \(text)")
            }
            adjustments.append(entry)
        }
        adjustments.sort { ($0.user, $0.at, $0.callID) < ($1.user, $1.at, $1.callID) }
        return CycleHistory(cycle: cycle, users: users, totals: totals, adjustments: adjustments)
    }

    /// The histories of closed cycles, oldest first: one cycle's with `cycle`, else every cycle's;
    /// with `user`, only that user's summary and adjustments, and only cycles where the user was
    /// closed (the totals stay the cycle's). Reads the history only, so it works after retention
    /// deleted the per-user counters.
    ///
    /// - Throws: ``ValidationError`` for a bad user id; as ``history(cycle:kind:)``.
    public func histories(cycle: CalendarDate? = nil, user: String? = nil) async throws -> [CycleHistory] {
        if let user { try Validation.validateUserID(user) }
        let cycles: [CalendarDate]
        if let cycle { cycles = [cycle] } else { cycles = try await historyCycles() }
        var result: [CycleHistory] = []
        for cycle in cycles {
            var history = try await self.history(cycle: cycle)
            if let user {
                history.users = history.users.filter { $0.user == user }
                history.adjustments = history.adjustments.filter { $0.user == user }
                if history.users.isEmpty { continue }
            }
            result.append(history)
        }
        return result
    }

    /// The members that are cycle dates (others are ignored).
    func cycleNames(_ members: [String]) -> [CalendarDate] {
        members.compactMap { try? CalendarDate(parsing: $0) }
    }
}

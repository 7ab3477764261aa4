import Foundation
import RedisClient

extension Rollover {
    // MARK: - Reading the history

    /// The cycles that have a history, oldest first.
    public func historyCycles() async throws -> [CalendarDate] {
        try await cycleNames(RedisCommand("ZRANGE", keys.historyCycles, 0, -1)).sorted()
    }

    /// A cycle's history: every closed user's summary (sorted by user id), the totals and the late
    /// calls that amended it.
    ///
    /// - Throws: ``LedgerError`` with code ``LedgerError/Code/corruptData`` when a summary is not valid JSON.
    public func history(cycle: CalendarDate) async throws -> CycleHistory {
        let replies = try await pool.pipeline([
            RedisCommand("HGETALL", keys.history(cycle)), RedisCommand("HGETALL", keys.historyTotals(cycle)),
            RedisCommand("HGETALL", keys.historyAdjustments(cycle)),
        ])
        let entries = try replies[0].throwingError().array ?? []
        let decoder = JSONDecoder()
        var users: [CycleSummary] = []
        for index in stride(from: 0, to: entries.count - 1, by: 2) {
            let text = entries[index + 1].string ?? ""
            do {
                users.append(try decoder.decode(CycleSummary.self, from: Data(text.utf8)))
            } catch {
                throw LedgerError(
                    code: .corruptData,
                    message:
                        "\(keys.history(cycle)) holds an invalid summary for '\(entries[index].string ?? "")': \(text)")
            }
        }
        users.sort { $0.user < $1.user }
        var totals = CycleHistory.Totals()
        let fields = try replies[1].throwingError().array ?? []
        for index in stride(from: 0, to: fields.count - 1, by: 2) {
            guard let field = fields[index].string, let value = fields[index + 1].int.map(Int.init) else { continue }
            switch field {
            case "users": totals.users = value
            case "adjustments": totals.adjustments = value
            case "total_tokens": continue  // derived from input and output
            default:
                if totals.counts.set(storedField: field, to: value) { continue }
                totals.models.apply(modelField: field, value: value)
            }
        }
        var adjustments: [CycleHistory.Adjustment] = []
        let audit = try replies[2].throwingError().array ?? []
        for index in stride(from: 1, to: audit.count, by: 2) {
            let text = audit[index].string ?? ""
            guard let entry = try? decoder.decode(CycleHistory.Adjustment.self, from: Data(text.utf8)) else {
                throw LedgerError(
                    code: .corruptData, message: "\(keys.historyAdjustments(cycle)) holds an invalid entry: \(text)")
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
    /// - Throws: ``ValidationError`` for a bad user id; as ``history(cycle:)``.
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

    func cycleNames(_ command: RedisCommand) async throws -> [CalendarDate] {
        let reply = try await pool.send(command)
        guard let members = reply.array else { throw TokenRepository.unexpected(reply, what: command.name) }
        return members.compactMap { $0.string.flatMap { try? CalendarDate(parsing: $0) } }
    }
}

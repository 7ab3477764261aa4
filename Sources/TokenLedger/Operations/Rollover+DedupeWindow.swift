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
    /// zones of cycle policies), with `calls_drop.lua` in the user's slot: the counters stay, and the
    /// cycle is marked so a later record or settle of it is parked. A cycle with late calls not in
    /// the history yet, or not closed, is left for a later run.
    func applyDedupeWindow(
        _ candidates: [CalendarDate: Set<String>], today: CalendarDate, windowDays: Int, options: RolloverOptions,
        result: inout RolloverResult, keepAlive: () async throws -> Void
    ) async throws {
        let decoder = JSONDecoder()
        for (cycle, userSet) in candidates.sorted(by: { $0.key < $1.key }) {
            let users = userSet.sorted()
            for start in stride(from: 0, to: users.count, by: options.batchSize) {
                let batch = Array(users[start..<min(start + options.batchSize, users.count)])
                let summaries = try await pool.send(HMGET(keys.history(cycle), fields: batch))
                var due: [String] = []
                for user in batch {
                    guard let text = summaries[user] else { continue }
                    let summary = try decoder.decode(CycleSummary.self, from: Data(text.utf8))
                    if summary.cycleEnd.adding(days: windowDays + 1) <= today { due.append(user) }
                }
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
}

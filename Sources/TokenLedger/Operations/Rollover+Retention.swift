import Foundation
import RedisClient

extension Rollover {
    // MARK: - Retention

    func applyRetention(
        old: [CalendarDate: Set<String>], indexedCycles: [CalendarDate], cutoff: CalendarDate,
        options: RolloverOptions, result: inout RolloverResult, keepAlive: () async throws -> Void
    ) async throws {
        let decoder = JSONDecoder()
        var keptCycles = Set<CalendarDate>()
        for (cycle, userSet) in old.sorted(by: { $0.key < $1.key }) {
            let users = userSet.sorted()
            for start in stride(from: 0, to: users.count, by: options.batchSize) {
                let batch = Array(users[start..<min(start + options.batchSize, users.count)])
                let summaries = try await pool.send(HMGET(keys.history(cycle), fields: batch))
                var doomed: [String] = []
                for user in batch {
                    guard let text = summaries[user] else {
                        result.keptWithoutHistory += 1
                        keptCycles.insert(cycle)
                        continue
                    }
                    let summary = try decoder.decode(CycleSummary.self, from: Data(text.utf8))
                    if summary.cycleEnd <= cutoff {
                        doomed.append(user)
                    } else {
                        keptCycles.insert(cycle)
                    }
                }
                if options.dryRun || doomed.isEmpty {
                    result.deletedUserCycles += doomed.count
                    continue
                }
                let replies = try await pool.evaluateMany(
                    try doomed.map { user in
                        let userKeys = try keys.user(user)
                        return RedisScriptCall(
                            scripts.retention,
                            keys: [
                                userKeys.cycle(cycle), userKeys.calls(cycle), userKeys.profile, userKeys.late(cycle),
                            ],
                            arguments: [cycle.description])
                    })
                for reply in replies {
                    let deleted = Int(try reply.throwingError().int ?? 0)
                    if deleted < 0 {
                        // A late call is not in the history yet: keep the cycle for the next run.
                        result.keptWithoutHistory += 1
                        keptCycles.insert(cycle)
                    } else {
                        result.deletedUserCycles += 1
                        result.deletedKeys += deleted
                    }
                }
                try await keepAlive()
            }
        }
        // Cycles before the cutoff with nothing left: drop them from the index (history stays).
        for cycle in indexedCycles.sorted() where cycle < cutoff && !keptCycles.contains(cycle) {
            result.droppedCycles.append(cycle)
            if !options.dryRun {
                _ = try await pool.evaluate(
                    scripts.cycleDrop, keys: [keys.index(cycle), keys.indexedCycles], arguments: [cycle.description])
            }
        }
    }
}

import Foundation
import RedisClient

extension Rollover {
    // MARK: - Retention

    func applyRetention(
        old: [CalendarDate: Set<String>], indexedCycles: [CalendarDate], cutoff: CalendarDate,
        options: RolloverOptions, result: inout RolloverResult, keepAlive: () async throws -> Void
    ) async throws {
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
                    let summary = try CycleSummary.stored(text, user: user, cycle: cycle, key: keys.history(cycle))
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
                let deletions = try await repository.runAll(
                    try doomed.map { user in RetentionScript(userKeys: try keys.user(user), cycle: cycle) })
                for deleted in deletions {
                    if let deleted {
                        result.deletedUserCycles += 1
                        result.deletedKeys += deleted
                    } else {
                        // A late call is not in the history yet: keep the cycle for the next run.
                        result.keptWithoutHistory += 1
                        keptCycles.insert(cycle)
                    }
                }
                try await keepAlive()
            }
        }
        // Cycles before the cutoff with nothing left: drop them from the index (history stays).
        for cycle in indexedCycles.sorted() where cycle < cutoff && !keptCycles.contains(cycle) {
            result.droppedCycles.append(cycle)
            if !options.dryRun {
                _ = try await repository.run(CycleDropScript(keySet: keys, cycle: cycle))
            }
        }
    }
}

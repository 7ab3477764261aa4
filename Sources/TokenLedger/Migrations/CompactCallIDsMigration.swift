import Foundation
import RedisClient

/// Migration 3 (`migrations/0003-compact-call-ids.md`): converts schema version 1's call ids (one
/// `calls:<D>` hash per user and cycle, call id → total tokens) into version 2's fingerprint buckets
/// (``CallFingerprint``: `calls:<D>:<bucket>`, 96-bit field → total tokens), then records schema
/// version 2.
///
/// Each old hash is read (`HGETALL`) and moved in batches by `calls_convert.lua` (the user's slot):
/// a call id is written to its bucket (unless the bucket already has it) and deleted from the old
/// hash in the same script, so a batch redone after a crash moves nothing twice and the old hash
/// disappears with its last call id. The `SCAN` position and the counts are checkpointed after every
/// page (``LegacyImportMigration/scanStep(_:pool:command:)``, also on a cluster).
struct CompactCallIDsMigration: Migration {
    let version = 3
    let name = "compact-call-ids"
    let summary = "stores call ids as 96-bit fingerprints in 32 buckets per user and cycle (schema version 2)"

    /// Call ids per `calls_convert.lua` call.
    static let batch = 500

    func apply(_ context: MigrationContext) async throws -> [String: Int] {
        let repository = context.repository
        let checkpoint = try await context.loadCheckpoint()
        var cursor = checkpoint["cursor"] ?? "0"
        var counts = checkpoint.compactMapValues { Int($0) }.filter { $0.key != "cursor" }
        for name in ["keys", "moved", "kept", "skipped"] where counts[name] == nil { counts[name] = 0 }
        if cursor != "0" { context.progress?("resuming from SCAN cursor \(cursor) (\(counts["keys"] ?? 0) keys done)") }
        let pattern = repository.keys.namespace + ":{*}:calls:*"
        let rollover = try Rollover(repository: repository)
        repeat {
            let (next, names) = try await LegacyImportMigration.scanStep(
                cursor, pool: repository.pool,
                command: { SCAN(cursor: $0, match: pattern, count: context.options.batchSize) })
            cursor = next
            for name in names {
                // Only schema version 1's `calls:<D>` keys (not the buckets `calls:<D>:<bucket>`).
                guard let key = String(validating: name, as: UTF8.self),
                    let (user, cycle) = rollover.perUserCycleKey(key, suffix: ":calls:")
                else { continue }
                counts["keys", default: 0] += 1
                if context.options.dryRun {
                    counts["moved", default: 0] += try await repository.pool.send(HLEN(key))
                    continue
                }
                let (moved, kept, skipped) = try await convert(key: key, user: user, cycle: cycle, context: context)
                counts["moved", default: 0] += moved
                counts["kept", default: 0] += kept
                counts["skipped", default: 0] += skipped
            }
            if !context.options.dryRun {
                var fields = counts.mapValues(String.init)
                fields["cursor"] = cursor
                try await context.saveCheckpoint(fields)
            }
            if cursor != "0" { try await context.pauseBetweenBatches() }
        } while cursor != "0"
        if !context.options.dryRun {
            _ = try await repository.run(
                MigrationScript(
                    keys: [repository.keys.schema], operation: .upgradeSchema(version: LedgerKeys.schemaVersion)))
        }
        return counts
    }

    /// Moves one old hash's call ids to their buckets, a batch per script call.
    private func convert(
        key: String, user: String, cycle: CalendarDate, context: MigrationContext
    ) async throws -> (Int, Int, Int) {
        let userKeys = try context.repository.keys.user(user)
        let entries = try await context.repository.pool.send(HGETALL(key)).keys.sorted()
        var moved = 0
        var kept = 0
        var skipped = 0
        for start in stride(from: 0, to: entries.count, by: Self.batch) {
            let batch = entries[start..<min(start + Self.batch, entries.count)]
            let reply = try await context.repository.run(
                CallsConvertScript(oldKey: key, buckets: userKeys.callBuckets(cycle), callIDs: Array(batch)))
            moved += reply.moved
            kept += reply.kept
            skipped += reply.skipped
            try await context.keepAlive()
        }
        return (moved, kept, skipped)
    }
}

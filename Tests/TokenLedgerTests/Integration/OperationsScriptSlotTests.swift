import Foundation
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

@Suite("Every operations script touches keys of a single hash slot")
struct OperationsScriptSlotTests {
    /// Runs rollover (close, retention, index, late calls), the lock and both migrations (import and
    /// legacy deletion) against a one-node Redis Cluster, where a cross-slot script fails with CROSSSLOT,
    /// and checks the slots of the keys every EVALSHA was given.
    @Test("rollover, retention, locks and migrations on a real cluster node")
    func slots() async throws {
        var options = RedisTestServer.Options()
        options.cluster = true
        try await withRedisServer(options) { server async throws in
            let pool = RedisConnectionPool(configuration: server.configuration)
            let repository = try TokenRepository(
                pool: pool, configuration: try LedgerConfiguration(namespace: "opslots", settingsCacheTTL: .zero))
            let users = ["plain", "{tag}", "a:b}{c", "global"]
            for user in users {
                _ = try await repository.record(
                    user: user, callID: "r", usage: UsageRecord(inputTokens: 9, outputTokens: 1), model: "m",
                    cycle: date("2024-11-01"))
                _ = try await pool.send(
                    RedisCommand(
                        "HSET", "token_usage:\(user):2025-06-01", "prompt_tokens", 5, "completion_tokens", 2,
                        "total_tokens", 7, "usage_limit", 100))
                // Schema version 1's call ids, for migration 3 (calls_convert).
                _ = try await pool.send(
                    RedisCommand("HSET", try repository.keys.user(user).calls(date("2025-06-01")), "old", 7))
            }
            let monitor = try await server.startMonitor()
            let migration = try await MigrationRunner(repository: repository).run(
                try MigrationOptions(deleteLegacy: true))
            #expect(migration.steps[1].counts["deleted"] == users.count)
            let rollover = try await Rollover(repository: repository).run(
                try RolloverOptions(now: at("2026-02-01T00:00:00Z")))
            #expect(rollover.deletedUserCycles == users.count && rollover.closed.count == 2)
            // A late call to a closed cycle amends the {global} history (history_adjust, late_done).
            for user in users {
                _ = try await repository.record(
                    user: user, callID: "r", usage: UsageRecord(inputTokens: 9, outputTokens: 1),
                    cycle: date("2025-12-01"))
            }
            // Within the dedupe window (a long one): the late calls below are counted, not parked.
            _ = try await Rollover(repository: repository).run(
                try RolloverOptions(now: at("2026-02-01T00:00:00Z"), dedupeWindowDays: 3650))
            for user in users {
                let late = try await repository.record(
                    user: user, callID: "late", usage: UsageRecord(inputTokens: 1, outputTokens: 1),
                    cycle: date("2025-12-01"))
                #expect(late.amendsHistory)
            }
            #expect(
                try await Rollover(repository: repository).history(cycle: date("2025-12-01")).totals.adjustments
                    == users.count)

            let commands = try await monitor.stop()
            let operationsScripts: Set<String> = [
                "lock", "history", "retention", "cycle_drop", "rollover_state", "migration", "legacy_import",
                "legacy_delete", "close", "history_adjust", "late_done", "calls_drop", "calls_convert",
                "history_compact",
            ]
            let scripts = try ScriptRegistry.shared.get().all.filter { operationsScripts.contains($0.key) }
            let names = Dictionary(uniqueKeysWithValues: scripts.map { ($0.value.sha1, $0.key) })
            var seen = Set<String>()
            for command in commands where String(decoding: command[0], as: UTF8.self).uppercased() == "EVALSHA" {
                let sha = String(decoding: command[1], as: UTF8.self)
                guard let name = names[sha] else { continue }
                seen.insert(name)
                let keyCount = Int(String(decoding: command[2], as: UTF8.self)) ?? -1
                let keys = Array(command[3..<(3 + keyCount)])
                let slots = Set(keys.map { HashSlot.slot(for: $0) })
                #expect(
                    slots.count == 1,
                    "\(name) touched slots \(slots): \(keys.map { String(decoding: $0, as: UTF8.self) })")
            }
            #expect(seen == Set(names.values), "scripts never observed: \(Set(names.values).subtracting(seen))")
            await pool.close()
        }
    }
}

import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

@Suite("Every script touches keys of a single hash slot")
struct ScriptSlotTests {
    /// Runs every repository operation against a one-node Redis Cluster (where a cross-slot script
    /// fails with CROSSSLOT), while `redis-cli monitor` records each EVALSHA so the test can compute
    /// the slot of every key each script was given.
    @Test("each EVALSHA's keys share one slot, for awkward user ids, on a real cluster node")
    func slots() async throws {
        var options = RedisTestServer.Options()
        options.cluster = true
        try await withRedisServer(options) { server async throws in
            let pool = RedisConnectionPool(configuration: server.configuration)
            let repository = try TokenRepository(
                pool: pool, configuration: try LedgerConfiguration(namespace: "slots", settingsCacheTTL: .zero))
            let monitor = try await server.startMonitor()

            let users = ["plain", "{tag}", "a:b}{c", "emoji 👩‍💻", String(repeating: "z", count: 256), "global"]
            try await repository.setDefaultLimit(1_000_000)
            try await repository.setDefaultCyclePolicy(try BillingCyclePolicy(period: .monthly(anchorDay: 1)))
            for user in users {
                // Every user in a team and an org named as awkwardly: the groups' scripts run on their own slots.
                _ = try await repository.setMembership(user: user, team: user, org: "o:" + user.prefix(200))
                try await repository.setLimit(user: user, tokens: 1000)
                try await repository.setCyclePolicy(user: user, policy: try BillingCyclePolicy(period: .daily))
                _ = try await repository.record(
                    user: user, callID: "r", usage: UsageRecord(inputTokens: 900, outputTokens: 0))
                _ = try await repository.reserve(user: user, callID: "l", tokens: 50)
                _ = try await repository.check(user: user, tokens: 5)
                _ = try await repository.settle(
                    user: user, callID: "l", usage: UsageRecord(inputTokens: 10, outputTokens: 10))
                _ = try await repository.reserve(user: user, callID: "x", tokens: 5)
                _ = try await repository.release(user: user, callID: "x")
                _ = try await repository.usage(user: user)
                _ = try await repository.reset(user: user)
                try await repository.clearLimit(user: user)
            }
            _ = try await repository.report()

            let commands = try await monitor.stop()
            // The repository's own scripts (scriptDigests also holds rollover's and the migrations').
            let repositoryScripts: Set<String> = [
                "record", "reserve", "settle", "release", "check", "usage", "reset", "profile", "config", "index",
                "index_mark", "scopes", "membership", "migration",
            ]
            let names = Dictionary(
                uniqueKeysWithValues: repository.scriptDigests.filter { repositoryScripts.contains($0.key) }.map {
                    ($0.value, $0.key)
                })
            var seen = Set<String>()
            for command in commands where String(decoding: command[0], as: UTF8.self).uppercased() == "EVALSHA" {
                let sha = String(decoding: command[1], as: UTF8.self)
                let keyCount = Int(String(decoding: command[2], as: UTF8.self)) ?? -1
                let name = names[sha] ?? sha
                seen.insert(name)
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

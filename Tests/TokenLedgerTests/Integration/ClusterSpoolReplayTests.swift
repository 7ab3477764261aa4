import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

/// A spooled event whose slot moved while it waited is replayed to the slot's new master (issue
/// 15), and one event that cannot apply is set aside without holding up the others.
@Suite("Cluster: spool replay after a slot moved")
struct ClusterSpoolReplayTests {
    @Test("events spooled before their slot moved apply once each on the new owner; a bad one is set aside")
    func replayMeetsMoved() async throws {
        try await withRedisCluster { cluster in
            let namespace = uniqueNamespace("spoolmoved")
            let cycle = try CalendarDate(parsing: "2026-03-01")
            let instant = try ISO8601Instant.parse("2026-03-16T12:00:00Z")
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("cluster-spool-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let metrics = TestMetrics()
            let pool = RedisConnectionPool(
                configuration: try RedisConfiguration(url: cluster.seedURL), options: .init(maximumConnections: 4),
                metrics: metrics)
            let repository = try TokenRepository(
                pool: pool, configuration: try LedgerConfiguration(namespace: namespace, settingsCacheTTL: .zero))

            // 30 users over every master, each with one event already stored: the pool learns the map.
            let users = (0..<30).map { "mover\($0)" }
            var owner: [String: Int] = [:]
            for user in users {
                owner[user] = try await cluster.masterOwning(key: "\(namespace):{\(user)}:profile").port
                _ = try await repository.record(
                    user: user, callID: "before", usage: UsageRecord(inputTokens: 1, outputTokens: 1), cycle: cycle,
                    at: instant)
            }
            let masters = try await cluster.topology().filter { $0.role == .master }.map(\.port).sorted()
            #expect(Set(owner.values) == Set(masters), "the users must live on every master: \(owner)")

            // Events spooled while Redis is unreachable (a recorder whose pool points at a closed port).
            let downPool = RedisConnectionPool(
                configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(try closedPort())"))
            let downRepository = try TokenRepository(
                pool: downPool, configuration: try LedgerConfiguration(namespace: namespace, settingsCacheTTL: .zero))
            let spooling = UsageRecorder(
                repository: downRepository, spool: try EventSpool(directory: directory),
                options: .init(recordTimeout: .seconds(5), replaysInBackground: false))
            // The bad user sits in the middle of the spool: everything after it must still apply.
            let bad = users[15]
            for (index, user) in users.enumerated() {
                let outcome = await spooling.record(
                    user: user, callID: "spooled", usage: UsageRecord(inputTokens: 10 + index, outputTokens: 5),
                    cycle: cycle, at: instant)
                guard case .spooled = outcome else {
                    Issue.record("\(user): expected spooled, got \(outcome)")
                    return
                }
            }
            await spooling.shutdown()
            await downPool.close()

            // Move the slots of a third of the users to another master; the pool's map is now old.
            var moved: [String: Int] = [:]
            for user in users.prefix(10) {
                let slot = HashSlot.slot(for: "\(namespace):{\(user)}:profile")
                let target = masters.first { $0 != owner[user] }!
                let current = try await cluster.masterOwning(slot: slot).port
                if current != owner[user] { continue }  // moved already with another user's slot
                try await cluster.migrate(slot: slot, to: target)
                moved[user] = target
            }
            for (user, target) in moved {
                #expect(try await cluster.masterOwning(key: "\(namespace):{\(user)}:profile").port == target)
            }
            #expect(!moved.isEmpty)
            // The bad event: the user's stored limit is not a number, so its record cannot apply.
            let badOwner = try await cluster.masterOwning(key: "\(namespace):{\(bad)}:profile").port
            _ = try await cluster.send(
                RedisCommand("HSET", "\(namespace):{\(bad)}:profile", "limit", "lots"), to: badOwner)

            let movedBefore = metrics.counterValue("tokenledger_redis_cluster_redirections_total", [("kind", "moved")])
            let replaying = UsageRecorder(
                repository: repository, spool: try EventSpool(directory: directory),
                options: .init(replaysInBackground: false))
            let result = try await replaying.flush()
            #expect(result.applied == users.count - 1, "\(result)")
            #expect(result.rejected == 1 && result.remaining == 0 && result.duplicates == 0, "\(result)")
            let again = try await replaying.flush()
            #expect(again.applied == 0 && again.remaining == 0, "\(again)")
            await replaying.shutdown()
            // The old map met MOVED (and was refreshed) on the way.
            #expect(
                metrics.counterValue("tokenledger_redis_cluster_redirections_total", [("kind", "moved")]) > movedBefore)

            // Each good event counted once, on the master that owns the user now (asked directly).
            for (index, user) in users.enumerated() where user != bad {
                let node = try await cluster.masterOwning(key: "\(namespace):{\(user)}:cycle:2026-03-01").port
                if let target = moved[user] { #expect(node == target) }
                let stored = try await cluster.send(
                    RedisCommand("HMGET", "\(namespace):{\(user)}:cycle:2026-03-01", "input_tokens", "calls"),
                    to: node)
                let fields = (stored.array ?? []).map { $0.string ?? "nil" }
                #expect(fields == ["\(1 + 10 + index)", "2"], "\(user) on \(node): \(fields)")
                let usage = try await repository.usage(user: user, cycle: cycle)
                #expect(usage.totalTokens == 2 + 15 + index && usage.calls == 2, "\(user): \(usage)")
            }
            // The bad event changed nothing and was set aside, not lost.
            let badUsage = try await cluster.send(
                RedisCommand("HGET", "\(namespace):{\(bad)}:cycle:2026-03-01", "calls"), to: badOwner)
            #expect(badUsage.string == "1")
            let files = try FileManager.default.contentsOfDirectory(atPath: directory)
            let rejected = try #require(files.first { $0.hasPrefix("rejected") && $0.hasSuffix(".jsonl") }, "\(files)")
            let lines = try String(contentsOfFile: directory + "/" + rejected, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains("\"user\":\"\(bad)\""), "\(lines)")
            await pool.close()
        }
    }

    @Test("an event whose user key has the wrong type is set aside; the events after it still apply")
    func wrongTypeKeyDoesNotBlock() async throws {
        let cluster = try await RedisTestCluster.shared()
        let namespace = uniqueNamespace("spoolwrongtype")
        let cycle = try CalendarDate(parsing: "2026-03-01")
        let instant = try ISO8601Instant.parse("2026-03-16T12:00:00Z")
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cluster-spool-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let users = (0..<9).map { "wt\($0)" }
        let bad = users[4]
        // The bad user's cycle counters are a string, not a hash: its record can never apply.
        let badKey = "\(namespace):{\(bad)}:cycle:2026-03-01"
        _ = try await cluster.send(
            RedisCommand("SET", badKey, "oops"), to: try await cluster.masterOwning(key: badKey).port)

        let downPool = RedisConnectionPool(
            configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(try closedPort())"))
        let spooling = UsageRecorder(
            repository: try TokenRepository(
                pool: downPool, configuration: try LedgerConfiguration(namespace: namespace, settingsCacheTTL: .zero)),
            spool: try EventSpool(directory: directory), options: .init(replaysInBackground: false))
        for user in users {
            let outcome = await spooling.record(
                user: user, callID: "spooled", usage: UsageRecord(inputTokens: 3, outputTokens: 4), cycle: cycle,
                at: instant)
            guard case .spooled = outcome else {
                Issue.record("\(user): expected spooled, got \(outcome)")
                return
            }
        }
        await spooling.shutdown()
        await downPool.close()

        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: cluster.seedURL))
        let repository = try TokenRepository(
            pool: pool, configuration: try LedgerConfiguration(namespace: namespace, settingsCacheTTL: .zero))
        let replaying = UsageRecorder(
            repository: repository, spool: try EventSpool(directory: directory),
            options: .init(replaysInBackground: false))
        var outcome = "not flushed"
        do { outcome = "\(try await replaying.flush())" } catch { outcome = "flush threw \(error)" }
        await replaying.shutdown()
        // A script's WRONGTYPE is corrupt data: the bad event is set aside (rejected), not retried
        // ahead of the others forever.
        for user in users where user != bad {
            let usage = try await repository.usage(user: user, cycle: cycle)
            #expect(usage.calls == 1 && usage.totalTokens == 7, "\(user) after \(outcome): \(usage)")
        }
        let status = try EventSpool(directory: directory).status()
        #expect(status.events == 0, "\(outcome); still spooled: \(status)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        let rejected = try #require(files.first { $0.hasPrefix("rejected") && $0.hasSuffix(".jsonl") }, "\(files)")
        let lines = try String(contentsOfFile: directory + "/" + rejected, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("\"user\":\"\(bad)\""), "\(lines)")
        await pool.close()
    }
}

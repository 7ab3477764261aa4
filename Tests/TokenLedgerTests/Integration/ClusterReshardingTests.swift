import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

/// Resharding under load (issue 15): slots that hold users being recorded move from one master to
/// another while 32 callers record 20,000 events; every acknowledged event ends counted exactly once.
@Suite("Cluster: resharding under load")
struct ClusterReshardingTests {
    @Test("20,000 records from 32 callers while 64 slots with 12 busy users move: totals exact, no call twice")
    func reshardUnderLoad() async throws {
        try await withRedisCluster { cluster in
            let namespace = uniqueNamespace("reshard")
            let masters = try await cluster.topology().filter { $0.role == .master }.sorted { $0.port < $1.port }
            // A range of 64 slots at the start of the first master's slots, and 12 users in it.
            let source = masters[0]
            let target = masters[1]
            let low = source.slots[0].lowerBound + 100
            let range = low...(low + 63)
            var movers: [String] = []
            var number = 0
            while movers.count < 12 {
                let user = "rs\(number)"
                if range.contains(HashSlot.slot(for: user)) { movers.append(user) }
                number += 1
            }
            let others = ClusterLoad.users("load", count: 52)
            let users = movers + others
            var perMaster: [Int: Int] = [:]
            for user in users {
                perMaster[try await cluster.masterOwning(key: "\(namespace):{\(user)}:profile").port, default: 0] += 1
            }
            #expect(perMaster.count == 3, "the users must live on every master: \(perMaster)")

            let metrics = TestMetrics()
            let pool = RedisConnectionPool(
                configuration: try RedisConfiguration(url: cluster.seedURL),
                options: .init(maximumConnections: 16, waitTimeout: .seconds(300)), metrics: metrics)
            let repository = try TokenRepository(
                pool: pool, configuration: try LedgerConfiguration(namespace: namespace))
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("cluster-reshard-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let recorder = UsageRecorder(
                repository: repository, spool: try EventSpool(directory: directory),
                options: .init(replaysInBackground: false))
            let load = ClusterLoad(
                users: users, holdAt: 470, cycle: try CalendarDate(parsing: "2026-03-01"),
                instant: try ISO8601Instant.parse("2026-03-16T12:00:00Z"))
            let progress = ClusterLoad.Progress()

            async let tally = load.run(recorder: recorder, progress: progress)
            // Once records flow, move the range slot by slot (IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE).
            #expect(await waitUntil(timeout: .seconds(300)) { progress.done >= 500 })
            var moveError: (any Error)?
            do { try await cluster.migrate(slots: range, to: target.port) } catch { moveError = error }
            let doneWhenMoved = progress.done
            progress.release()
            let told = await tally
            #expect(moveError == nil, "\(String(describing: moveError))")
            for user in movers {
                #expect(try await cluster.masterOwning(key: "\(namespace):{\(user)}:profile").port == target.port)
            }

            let (drained, last) = await ClusterLoad.drain(recorder)
            #expect(drained, "the spool did not empty: \(last)")
            await recorder.shutdown()
            #expect(told.outcomes["rejected", default: 0] == 0 && told.outcomes["failed", default: 0] == 0, "\(told)")
            #expect(told.calls.values.reduce(0, +) == 20_000, "\(told)")
            let comparison = try await load.compare(told, in: repository)
            #expect(comparison.exact, "\(comparison)")
            let redirections =
                metrics.counterValue("tokenledger_redis_cluster_redirections_total", [("kind", "moved")])
                + metrics.counterValue("tokenledger_redis_cluster_redirections_total", [("kind", "ask")])
            #expect(redirections > 0, "no record met the moving slots")
            print(
                "resharding under load: 64 slots moved while records ran (\(doneWhenMoved) of 20000 answered when the move ended);",
                "outcomes \(told); redirections \(redirections); \(comparison)")
            await pool.close()
        }
    }
}

import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

/// The pipelined recorder on a Redis Cluster: its groups take the lanes of their user's master
/// (``RedisRoutedPipeline``), so concurrent records are coalesced per node, and the totals are exact.
@Suite("Pipelined recorder on a Redis Cluster")
struct ClusterPipelinedRecorderTests {
    @Test(
        "1,000 concurrent pipelined records (awaited and fire-and-forget) over users on every master: lanes per node, totals exact"
    )
    func lanesPerNode() async throws {
        let cluster = try await RedisTestCluster.shared()
        let masters = try await cluster.topology().filter { $0.role == .master }
        #expect(masters.count == 3)
        // Four users per master: user keys are NS:{user}:…, so a user id that is a master's hash tag
        // lives on that master.
        let users = masters.enumerated().flatMap { index, master in
            (0..<4).map { number in master.hashTag(prefix: "pipe\(index)x\(number)-")! }
        }
        let metrics = TestMetrics()
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: cluster.seedURL))
        let repository = try TokenRepository(
            pool: pool, configuration: try LedgerConfiguration(namespace: uniqueNamespace("cpipe")))
        let recorder = UsageRecorder(
            repository: repository,
            options: .init(recordTimeout: .seconds(120), pipeline: .init(connections: 2), loneCallerUsesPool: false),
            metrics: LedgerMetrics(factory: metrics))
        let usage = UsageRecord(inputTokens: 3, outputTokens: 2)
        await recorder.withRunning {
            // 800 awaited records from 40 concurrent callers.
            let outcomes = await withTaskGroup(of: [RecordOutcome].self) { group in
                for caller in 0..<40 {
                    group.addTask {
                        var outcomes: [RecordOutcome] = []
                        for index in 0..<20 {
                            let user = users[(caller + index) % users.count]
                            outcomes.append(
                                await recorder.record(user: user, callID: "a\(caller)-\(index)", usage: usage))
                        }
                        return outcomes
                    }
                }
                return await group.reduce(into: []) { $0 += $1 }
            }
            #expect(outcomes.count == 800)
            #expect(outcomes.allSatisfy { if case .applied = $0 { true } else { false } }, "\(outcomes.prefix(3))")
            // 200 fire-and-forget records (settings and schema are known now, so they take the lanes).
            for index in 0..<200 {
                await recorder.recordInBackground(user: users[index % users.count], callID: "b\(index)", usage: usage)
            }
            #expect(
                await waitUntil(timeout: .seconds(120)) {
                    metrics.counterValue("tokenledger_records_total", [("result", "applied")]) == 1000
                })
        }
        var calls = 0
        for user in users {
            let used = try await repository.usage(user: user)
            calls += used.calls
            #expect(used.totalTokens == used.calls * 5)
        }
        #expect(calls == 1000)
        // Every master's lanes carried pipelines: the groups were split by node, not sent to one.
        for master in masters {
            let node = [("node", master.address)]
            #expect(metrics.counterValue("tokenledger_redis_pipeline_batches_total", node) > 0, "\(master.address)")
        }
        let perNode = masters.reduce(0) {
            $0 + metrics.counterValue("tokenledger_redis_pipeline_batches_total", [("node", $1.address)])
        }
        #expect(perNode == metrics.pipelineBatches, "every batch went to a master's lanes")
        await pool.close()
    }
}

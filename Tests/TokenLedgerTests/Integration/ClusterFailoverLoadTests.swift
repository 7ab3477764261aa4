import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

/// Failover under load (issue 15): a master is killed (SIGKILL) while 32 callers record 20,000
/// events through a recorder with a spool; its replica takes over. The figures (how many
/// acknowledged records a failover lost, with and without `WAIT`) go in docs/operations.md.
@Suite("Cluster: failover under load", .serialized)
struct ClusterFailoverLoadTests {
    @Test("with WAIT for 1 replica: a master killed under load; after the spool flushes, 0 lost and 0 doubled")
    func failoverWithWait() async throws {
        let (told, comparison) = try await Self.failover(
            replicaWait: RedisReplicaWait(replicas: 1, timeout: .milliseconds(300)))
        #expect(comparison.exact, "\(comparison)")
        #expect(told.calls.values.reduce(0, +) == 20_000, "\(told)")
        print(
            "failover under load with WAIT 1: \(comparison.lostCalls) of \(told.calls.values.reduce(0, +)) acknowledged records lost,",
            "\(comparison.extraCalls) doubled; outcomes \(told)")
    }

    @Test("without WAIT: a master killed under load; nothing doubled, and the acknowledged records lost are printed")
    func failoverWithoutWait() async throws {
        let (told, comparison) = try await Self.failover(replicaWait: nil)
        #expect(comparison.extraCalls == 0 && comparison.extraTokens == 0, "\(comparison)")
        print(
            "failover under load without WAIT: \(comparison.lostCalls) of \(told.calls.values.reduce(0, +)) acknowledged records lost",
            "(\(comparison.lostTokens) tokens); outcomes \(told)")
    }

    /// Runs the load on a private 3+3 cluster (each write followed by `WAIT` when `replicaWait` is
    /// set), kills the master of a third of the users once records flow, waits for its replica's
    /// promotion and the old master's return as a replica, lets the callers finish, drains the
    /// spool and compares.
    static func failover(replicaWait: RedisReplicaWait?) async throws -> (ClusterLoad.Tally, ClusterLoad.Comparison) {
        try await withRedisCluster { cluster in
            let namespace = uniqueNamespace("failover")
            let users = ClusterLoad.users("fo", count: 64)
            let masters = try await cluster.topology().filter { $0.role == .master }.sorted { $0.port < $1.port }
            var perMaster: [Int: Int] = [:]
            for user in users {
                perMaster[try await cluster.masterOwning(key: "\(namespace):{\(user)}:profile").port, default: 0] += 1
            }
            #expect(perMaster.count == 3, "the users must live on every master: \(perMaster)")
            let victim = masters[0].port

            let pool = RedisConnectionPool(
                configuration: try RedisConfiguration(url: cluster.seedURL),
                options: .init(maximumConnections: 16, waitTimeout: .seconds(300)))
            let repository = try TokenRepository(
                pool: pool, configuration: try LedgerConfiguration(namespace: namespace, replicaWait: replicaWait))
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("cluster-failover-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let recorder = UsageRecorder(
                repository: repository, spool: try EventSpool(directory: directory),
                options: .init(replaysInBackground: false))
            let load = ClusterLoad(
                users: users, holdAt: 470, cycle: try CalendarDate(parsing: "2026-03-01"),
                instant: try ISO8601Instant.parse("2026-03-16T12:00:00Z"))
            let progress = ClusterLoad.Progress()

            async let tally = load.run(recorder: recorder, progress: progress)
            #expect(await waitUntil(timeout: .seconds(300)) { progress.done >= 2000 })
            var topologyError: (any Error)?
            do {
                try await cluster.kill(node: victim)
                let promoted = try await cluster.waitForFailover(of: victim)
                #expect(promoted.port != victim)
                // The old master comes back as the promoted one's replica (WAIT 1 needs one).
                try await cluster.restart(node: victim)
                try await cluster.waitUntilStateOK()
            } catch {
                topologyError = error
            }
            progress.release()
            let told = await tally
            #expect(topologyError == nil, "\(String(describing: topologyError))")
            #expect(told.outcomes["rejected", default: 0] == 0 && told.outcomes["failed", default: 0] == 0, "\(told)")

            let (drained, last) = await ClusterLoad.drain(recorder)
            #expect(drained, "the spool did not empty: \(last)")
            await recorder.shutdown()
            let comparison = try await load.compare(told, in: repository)
            await pool.close()
            return (told, comparison)
        }
    }
}

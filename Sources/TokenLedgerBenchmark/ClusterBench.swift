// The recording benchmark on a Redis Cluster (`TokenLedgerBenchmark --cluster`, run by
// `scripts/bench --cluster`): record throughput through the routing client, each master's share of
// the commands the run sent, the redirections the client followed, and `lost`.
//
// A node's share is the growth of its `total_commands_processed` (INFO stats) during the run over
// the growth summed over the masters; `max_node_share_ratio` is the largest share over the fair
// share (1 / masters). The run fails (exit 2) when it is above 2 (a hot node) or when a total is
// not exact.
import Foundation
import RedisClient
import TokenLedger

enum ClusterBench {
    /// The largest share of the commands one master may take, as a multiple of its fair share.
    static let maximumShareRatio = 2.0

    static func run() async throws {
        let events = option("--events", default: 200_000)
        let callers = option("--callers", default: 64)
        let users = option("--users", default: 1000)
        let redis = try RedisConfiguration.fromEnvironment()
        let namespace = "bench\(getpid())"
        let metrics = InProcessMetrics()
        let pool = RedisConnectionPool(
            configuration: redis, options: .init(maximumConnections: 16, waitTimeout: .seconds(30)), metrics: metrics)
        let repository = try TokenRepository(
            pool: pool, configuration: try LedgerConfiguration(namespace: namespace, settingsCacheTTL: .seconds(5)))
        let recorder = UsageRecorder(
            repository: repository, options: .init(pipeline: .init(connections: option("--connections", default: 2))))
        let prefix = "r\(UInt32.random(in: 0...UInt32.max))"
        guard let topology = try await pool.clusterTopology() else {
            throw BenchmarkFailure(description: "REDIS_URL is not a Redis Cluster (run without --cluster)")
        }
        let masters = topology.servingMasters.map(\.endpoint)
        log(
            "redis cluster \(redis); \(masters.count) masters; namespace \(namespace); \(events) events, \(callers) callers, \(users) users"
        )

        // Warm up: load the scripts on every master, read the settings, write each user's index entry.
        for user in 0..<users {
            _ = await recorder.record(
                user: "u\(user)", callID: "warm-\(user)", usage: UsageRecord(inputTokens: 1, outputTokens: 0))
        }

        let before = try await commandsProcessed(masters, pool)
        let nextEvent = Locked(0)
        let notDurable = Locked(0)
        let clock = ContinuousClock()
        let started = clock.now
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    while true {
                        guard let index = nextEvent.next(below: events) else { return }
                        let event = benchEvent(index, users: users, prefix: prefix)
                        let outcome = await recorder.record(user: event.user, callID: event.callID, usage: event.usage)
                        if !outcome.isDurable { notDurable.withLock { $0 += 1 } }
                    }
                }
            }
        }
        let elapsed = clock.now - started
        let after = try await commandsProcessed(masters, pool)
        figure("record_throughput", Double(events) / seconds(elapsed), "events/s", decimals: 0)

        let deltas = zip(before, after).map { max(0, $1 - $0) }
        let sum = deltas.reduce(0, +)
        var maxShare = 0.0
        for (master, delta) in zip(masters, deltas) {
            let share = sum > 0 ? Double(delta) / Double(sum) : 0
            maxShare = max(maxShare, share)
            FileHandle.standardOutput.write(Data("node_share \(master) \(String(format: "%.3f", share))\n".utf8))
        }
        let ratio = maxShare * Double(masters.count)
        figure("max_node_share_ratio", ratio, "x", decimals: 2)
        let redirects = metrics.snapshot.counters.filter {
            $0.key.label == "tokenledger_redis_cluster_redirections_total"
        }
        .values.reduce(0, +)
        FileHandle.standardOutput.write(Data("redirects \(redirects)\n".utf8))

        // Totals: every user's counts must be exactly what was sent (plus the warm-up token).
        let lost = try await lostUsers(repository, events: events, users: users, prefix: prefix)
        let refused = notDurable.withLock { $0 }
        if refused > 0 { log("\(refused) records were not acknowledged as durable") }

        FileHandle.standardOutput.write(Data("lost \(lost)\n".utf8))
        await recorder.shutdown()
        await pool.close()
        if lost != 0 {
            exit(2)
        }
        if ratio > maximumShareRatio {
            log(
                "one master took \(String(format: "%.2f", ratio))x its fair share of the commands (at most \(maximumShareRatio)x): a hot slot"
            )
            exit(2)
        }
    }

    /// Each master's `total_commands_processed`, in `masters` order (asked on each node through
    /// the routing pool).
    static func commandsProcessed(_ masters: [RedisConfiguration.Endpoint], _ pool: RedisConnectionPool)
        async throws -> [Int]
    {
        var counts: [Int] = []
        for master in masters {
            let stats = try await pool.send(INFO("stats"), to: master)
            guard let count = stats["total_commands_processed"].flatMap(Int.init) else {
                throw BenchmarkFailure(description: "INFO stats of \(master) has no total_commands_processed")
            }
            counts.append(count)
        }
        return counts
    }
}

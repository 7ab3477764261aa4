// The recording benchmark: prints one `name value unit` line per figure (see scripts/bench).
//
// Against REDIS_URL (scripts/bench starts a private redis-server when it is unset). Every figure
// goes through the public API; the same run measures redis-benchmark with TokenLedger's own record
// script, so the ratios compare like with like on this machine.
import Foundation
import Logging
import RedisClient
import Synchronization
import TokenLedger

/// The benchmark (run from the top-level code at the end of this file, beside Loadgen.swift).
struct TokenLedgerBenchmark {
    static func main() async {
        // `TokenLedgerBenchmark loadgen …`: the deterministic workload of scripts/chaos.
        if CommandLine.arguments.dropFirst().first == "loadgen" {
            await Loadgen.main(Array(CommandLine.arguments.dropFirst(2)))
            return
        }
        do {
            try await run()
        } catch {
            log("failed: \(error)")
            exit(1)
        }
    }

    static func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .error
            return handler
        }
        // `--cluster`: REDIS_URL lists a Redis Cluster's seeds (scripts/bench --cluster starts one).
        if CommandLine.arguments.contains("--cluster") {
            try await ClusterBench.run()
            return
        }
        let events = option("--events", default: 200_000)
        let callers = option("--callers", default: 64)
        let users = option("--users", default: 1000)
        let reportUsers = option("--report-users", default: 1_000_000)
        let redis = try RedisConfiguration.fromEnvironment()
        let namespace = "bench\(getpid())"
        let pool = RedisConnectionPool(
            configuration: redis, options: .init(maximumConnections: 16, waitTimeout: .seconds(30)))
        let repository = try TokenRepository(
            pool: pool, configuration: try LedgerConfiguration(namespace: namespace, settingsCacheTTL: .seconds(5)))
        // `--memory-only`: just the capacity figures (MemoryBench.swift).
        if CommandLine.arguments.contains("--memory-only") {
            try await MemoryBench.run(redis: redis, pool: pool, callers: callers)
            await pool.close()
            return
        }
        let recorder = UsageRecorder(
            repository: repository, options: .init(pipeline: .init(connections: option("--connections", default: 2))))
        let prefix = "r\(UInt32.random(in: 0...UInt32.max))"
        log("redis \(redis); namespace \(namespace); \(events) events, \(callers) callers, \(users) users")

        // Warm up: load scripts, settings and the index memory for every user.
        for user in 0..<users {
            _ = await recorder.record(
                user: "u\(user)", callID: "warm-\(user)", usage: UsageRecord(inputTokens: 1, outputTokens: 0))
        }

        // 1. Throughput and latency: `callers` tasks awaiting durability.
        let nextEvent = Locked(0)
        let clock = ContinuousClock()
        let redisCPUBefore = try await redisCPUSeconds(pool)
        let clientCPUBefore = processCPUSeconds()
        let started = clock.now
        let latencies = await withTaskGroup(of: [Duration].self) { group in
            for _ in 0..<callers {
                group.addTask {
                    var mine: [Duration] = []
                    while true {
                        guard let index = nextEvent.next(below: events) else { return mine }
                        let event = benchEvent(index, users: users, prefix: prefix)
                        let start = clock.now
                        let outcome = await recorder.record(user: event.user, callID: event.callID, usage: event.usage)
                        mine.append(clock.now - start)
                        if !outcome.isDurable { log("event \(index) not durable: \(outcome)") }
                    }
                }
            }
            var all: [Duration] = []
            for await part in group { all += part }
            return all.sorted()
        }
        let elapsed = clock.now - started
        let throughput = Double(events) / seconds(elapsed)
        figure("record_throughput", throughput, "events/s", decimals: 0)
        figure("record_latency_p50", percentile(latencies, 0.50), "us")
        figure("record_latency_p99", percentile(latencies, 0.99), "us")
        // CPU per event in that phase. Redis runs commands on one thread, so no client can record
        // faster than 1 s / Redis's figure; when Redis shares the cores with this process, its
        // figure grows (it is preempted and migrates), which is why it is printed for every run.
        let redisCPU = try await redisCPUSeconds(pool) - redisCPUBefore
        let redisCPUPerEvent = redisCPU / Double(events)
        figure("redis_cpu_per_event", redisCPUPerEvent * 1e6, "us", decimals: 2)
        figure("record_throughput_redis_bound", 1 / redisCPUPerEvent, "events/s", decimals: 0)
        figure(
            "client_cpu_per_event", (processCPUSeconds() - clientCPUBefore) / Double(events) * 1e6, "us", decimals: 2)

        // Totals: every user's counts must be exactly what was sent (plus the warm-up token).
        var lost = try await lostUsers(repository, events: events, users: users, prefix: prefix)

        // 2. One caller, awaited.
        var single: [Duration] = []
        for index in 0..<5000 {
            let event = benchEvent(index, users: users, prefix: prefix + "s")
            let start = clock.now
            _ = await recorder.record(user: event.user, callID: event.callID, usage: event.usage)
            single.append(clock.now - start)
        }
        single.sort()
        figure("single_record_pipelined_p50", percentile(single, 0.50), "us")
        // One caller, the recorder without a pipeline: one pooled connection per record. First with
        // the pool's defaults (every call on the connection's queue), then with the opt-in inline
        // replies for a lone caller (RedisConnectionPool.Options.inlineReplyWait), the configuration
        // for latency-sensitive single callers, as the pipeline is for many (record_throughput).
        func singleCaller(_ recorder: UsageRecorder, tag: String) async -> Double {
            var latencies: [Duration] = []
            for index in 0..<5000 {
                let event = benchEvent(index, users: users, prefix: prefix + tag)
                let start = clock.now
                _ = await recorder.record(user: event.user, callID: event.callID, usage: event.usage)
                latencies.append(clock.now - start)
            }
            latencies.sort()
            return percentile(latencies, 0.50)
        }
        let queuedP50 = await singleCaller(UsageRecorder(repository: repository), tag: "d")
        figure("single_record_queued_p50", queuedP50, "us")
        let inlineMetrics = InProcessMetrics()
        let inlinePool = RedisConnectionPool(
            configuration: redis, options: .init(maximumConnections: 2, inlineReplyWait: .milliseconds(1)),
            metrics: inlineMetrics)
        let inlineRepository = try TokenRepository(
            pool: inlinePool,
            configuration: try LedgerConfiguration(namespace: namespace, settingsCacheTTL: .seconds(5)))
        let singleP50 = await singleCaller(UsageRecorder(repository: inlineRepository), tag: "i")
        figure("single_record_p50", singleP50, "us")
        let inlineReplies = { (outcome: String) in
            inlineMetrics.snapshot.counter("tokenledger_redis_inline_replies_total", [("outcome", outcome)])
        }
        log(
            "inline pool: \(inlineReplies("answered")) calls answered inline, \(inlineReplies("handed_over")) handed over"
        )
        await inlinePool.close()

        // 3. The handler's end callback in fire-and-forget mode, 64 callers calling it back to back
        //    (saturated); then with each caller first waiting --model-latency-ms (default 10 ms),
        //    standing in for the model call the callback ends (paced: timer wake-ups on 2 cores show).
        let handler = RedisTokenCallbackHandler(recorder: recorder, counting: .heuristic, delivery: .fireAndForget)
        func measureHandler(events count: Int, modelLatency: Duration?, tag: String) async -> [Duration] {
            let handlerNext = Locked(0)
            return await withTaskGroup(of: [Duration].self) { group in
                for _ in 0..<callers {
                    group.addTask {
                        var mine: [Duration] = []
                        while true {
                            guard let index = handlerNext.next(below: count) else { return mine }
                            if let modelLatency { try? await Task.sleep(for: modelLatency) }
                            let event = benchEvent(index, users: users, prefix: prefix + tag)
                            let context = LLMCallContext(runID: event.callID, user: event.user)
                            let start = clock.now
                            await handler.onLLMEnd(response: LLMResponse(usage: event.usage), context: context)
                            mine.append(clock.now - start)
                        }
                    }
                }
                var all: [Duration] = []
                for await part in group { all += part }
                return all.sorted()
            }
        }
        let saturated = await measureHandler(events: events / 4, modelLatency: nil, tag: "hs")
        figure("handler_end_overhead_p50", percentile(saturated, 0.50), "us")
        figure("handler_end_overhead_p99", percentile(saturated, 0.99), "us")
        let modelLatency = option("--model-latency-ms", default: 10)
        let paced = await measureHandler(events: events / 10, modelLatency: .milliseconds(modelLatency), tag: "h")
        figure("handler_end_overhead_paced_p50", percentile(paced, 0.50), "us")
        figure("handler_end_overhead_paced_p99", percentile(paced, 0.99), "us")

        // 4. Reserve + settle pairs, 64 callers.
        let pairs = events / 10
        let pairNext = Locked(0)
        let pairStart = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    while true {
                        guard let index = pairNext.next(below: pairs) else { return }
                        let event = benchEvent(index, users: users, prefix: prefix + "q")
                        _ = try await repository.reserve(user: event.user, callID: event.callID, tokens: 2000)
                        _ = try await repository.settle(user: event.user, callID: event.callID, usage: event.usage)
                    }
                }
            }
            try await group.waitForAll()
        }
        figure("reserve_settle_per_s", Double(pairs) / seconds(clock.now - pairStart), "pairs/s", decimals: 0)

        // 4b. The same pairs by users in a team (10 teams) and an org: each admission and settle acts
        // on three scopes (docs/quota.md, "Scopes").
        for index in 0..<users {
            _ = try await repository.setMembership(user: "s\(index)", team: "bench-t\(index % 10)", org: "bench-o")
        }
        let scopedNext = Locked(0)
        let scopedStart = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    while true {
                        guard let index = scopedNext.next(below: pairs) else { return }
                        let event = benchEvent(index, users: users, prefix: prefix + "s")
                        let user = "s" + event.user.dropFirst()
                        _ = try await repository.reserve(user: user, callID: event.callID, tokens: 2000)
                        _ = try await repository.settle(user: user, callID: event.callID, usage: event.usage)
                    }
                }
            }
            try await group.waitForAll()
        }
        figure(
            "reserve_settle_scoped_per_s", Double(pairs) / seconds(clock.now - scopedStart), "pairs/s", decimals: 0)

        // 4c. The same pairs by users with a tpm and an rpm limit too high ever to deny: each reserve
        // charges the user's rate window and each settle corrects it (docs/quota.md, "Rate limits").
        for index in 0..<users {
            try await repository.setRateLimit(scope: .user("l\(index)"), tpm: 1_000_000_000_000, rpm: 1_000_000_000)
        }
        let limitedNext = Locked(0)
        let limitedStart = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    while true {
                        guard let index = limitedNext.next(below: pairs) else { return }
                        let event = benchEvent(index, users: users, prefix: prefix + "l")
                        let user = "l" + event.user.dropFirst()
                        _ = try await repository.reserve(user: user, callID: event.callID, tokens: 2000)
                        _ = try await repository.settle(user: user, callID: event.callID, usage: event.usage)
                    }
                }
            }
            try await group.waitForAll()
        }
        figure(
            "reserve_settle_rate_limited_per_s", Double(pairs) / seconds(clock.now - limitedStart), "pairs/s",
            decimals: 0)

        // 5. redis-benchmark with the same record script, in this run.
        let sha =
            try repository.scriptDigests["record"].map { $0 }
            ?? { throw BenchmarkFailure(description: "no record script") }()
        let keys = repository.keys
        let userKeys = try keys.user("rb")
        let cycle = try await repository.usage(user: "rb").cycle
        // The call's bucket is fixed here (one of 32), and its 12-byte fingerprint field (ARGV 17,
        // after the default currency limit) is redis-benchmark's 12-digit random number, so every
        // request is a new call as in the records. The keys are record.lua's first seven (no rate keys:
        // no rate limit applies), as RecordScript sends them.
        let rbKeys = [
            userKeys.profile, userKeys.cycle(cycle), userKeys.callBucket(named: cycle.description, bucket: 0),
            userKeys.events, userKeys.late(cycle), userKeys.leaseScopes, userKeys.leases,
        ]
        let rbArguments = [
            "", "rb-__rand_int__", "120", "30", "-1", "-1", "-1", "m", "-1", "80,100", "rb", cycle.description, "0",
            "-1", "-1", "-1", "__rand_int__",
        ]
        let one = try redisBenchmark(
            configuration: redis, sha: sha, keys: rbKeys, arguments: rbArguments, clients: 1, pipeline: 1,
            requests: 20_000)
        let rbCPUBefore = try await redisCPUSeconds(pool)
        let many = try redisBenchmark(
            configuration: redis, sha: sha, keys: rbKeys, arguments: rbArguments, clients: 16, pipeline: 16,
            requests: 400_000)
        let rbCPU = try await redisCPUSeconds(pool) - rbCPUBefore
        figure("redis_benchmark_1_client_rps", one.rps, "requests/s", decimals: 0)
        figure("redis_benchmark_1_client_p50", one.p50, "us")
        figure("redis_benchmark_16x16_rps", many.rps, "requests/s", decimals: 0)
        figure("redis_benchmark_16x16_cpu_per_request", rbCPU / 400_000 * 1e6, "us", decimals: 2)
        figure("record_throughput_ratio", throughput / many.rps, "x", decimals: 2)
        figure("single_record_p50_ratio", singleP50 / one.p50, "x", decimals: 2)
        figure("single_record_queued_p50_ratio", queuedP50 / one.p50, "x", decimals: 2)

        // 6. A report over 1,000,000 users (seeded here, in a cycle of their own).
        if reportUsers > 0 {
            let reportCycle = try CalendarDate(parsing: "2031-01-01")
            let seedNext = Locked(0)
            let seedStart = clock.now
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<256 {
                    group.addTask {
                        while true {
                            guard let index = seedNext.next(below: reportUsers) else { return }
                            _ = await recorder.record(
                                user: "r\(index)", callID: "seed",
                                usage: UsageRecord(inputTokens: index % 500 + 1, outputTokens: 7),
                                cycle: reportCycle)
                        }
                    }
                }
            }
            log("seeded \(reportUsers) users in \(String(format: "%.1f", seconds(clock.now - seedStart))) s")
            let reportStart = clock.now
            let big = try await repository.report(cycle: reportCycle, top: 10)
            figure("report_1m_users_seconds", seconds(clock.now - reportStart), "s", decimals: 2)
            if big.totals.users != reportUsers { lost += reportUsers - big.totals.users }
        }

        // 7. Capacity: memory per call and per closed user cycle (MemoryBench.swift).
        try await MemoryBench.run(redis: redis, pool: pool, callers: callers)

        // 8. Redis down: 20,000 records from 16 callers go to a spool (fsync'd; several per fsync).
        let spoolDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-spool-\(getpid())")
            .path
        // A directory a crashed run left under the same pid would hold events this run did not send.
        try? FileManager.default.removeItem(atPath: spoolDirectory)
        defer { try? FileManager.default.removeItem(atPath: spoolDirectory) }
        let downPool = RedisConnectionPool(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1"))
        let spool = try EventSpool(directory: spoolDirectory)
        let spooling = UsageRecorder(
            repository: try TokenRepository(
                pool: downPool, configuration: try LedgerConfiguration(namespace: namespace)),
            spool: spool, options: .init(replaysInBackground: false))
        let spoolEvents = 20_000
        let spoolNext = Locked(0)
        let notSpooled = Locked(0)
        let spoolStart = clock.now
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    while true {
                        guard let index = spoolNext.next(below: spoolEvents) else { return }
                        let event = benchEvent(index, users: users, prefix: prefix + "d")
                        let outcome = await spooling.record(user: event.user, callID: event.callID, usage: event.usage)
                        if case .spooled = outcome {} else { notSpooled.withLock { $0 += 1 } }
                    }
                }
            }
        }
        figure("spool_records_per_s", Double(spoolEvents) / seconds(clock.now - spoolStart), "events/s", decimals: 0)
        await spooling.shutdown()
        await downPool.close()
        // Every record must be acknowledged as spooled and be in the spool.
        let spooledCount = spool.status().events
        let unacknowledged = notSpooled.withLock { $0 }
        if spooledCount != spoolEvents || unacknowledged != 0 {
            log(
                "spool: \(spooledCount) of \(spoolEvents) events in the spool, \(unacknowledged) not acknowledged as spooled"
            )
            lost += max(spoolEvents - spooledCount, unacknowledged)
        }

        FileHandle.standardOutput.write(Data("lost \(lost)\n".utf8))
        await recorder.shutdown()
        await pool.close()
        if lost != 0 { exit(2) }
    }
}

await TokenLedgerBenchmark.main()

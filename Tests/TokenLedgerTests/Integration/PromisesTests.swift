import Foundation
import Logging
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

#if canImport(Glibc)
    import Glibc
#endif

// Behaviours README.md and docs/operations.md promise, each checked against real redis-server
// processes: the spool's warning, full path and gauges; thresholds fired by settle and
// non-default thresholds; retention that leaves profiles, leases and streams alone; the stream cap;
// passwords never in logs or errors.

/// A configuration for 127.0.0.1 on a port nothing listens on (the test support's reserved closed port).
private func unreachableConfiguration(password: String? = nil) throws -> RedisConfiguration {
    return try RedisConfiguration(
        endpoint: .tcp(host: "127.0.0.1", port: try closedPort()), password: password,
        connectTimeout: .seconds(2), commandTimeout: .seconds(2))
}

private func promisesSpoolDirectory() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("spool-promises-\(UUID().uuidString)").path
}

/// Spool events whose JSON lines all have the same length (index 10…99).
private func sizedEvent(_ index: Int, namespace: String = "tl") -> SpooledEvent {
    SpooledEvent(
        operation: .record, user: "u", callID: "call-\(index)", usage: UsageRecord(inputTokens: 10, outputTokens: 5),
        cycle: date("2026-01-01"), at: Date(timeIntervalSince1970: 1_767_225_600), namespace: namespace)
}

@Suite("Promised in README and docs: spool, thresholds, retention, stream cap, passwords", .serialized)
struct PromisesTests {
    @Test(
        "every append past 80 % of maximumBytes logs a warning; at the bound the spool refuses, writes nothing, and the recorder reports the event lost, critically"
    )
    func spoolWarningAndFull() async throws {
        let logs = CapturedLogs()
        let directory = promisesSpoolDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let line = try sizedEvent(10).line().count
        #expect(try sizedEvent(99).line().count == line)
        let spool = try EventSpool(
            directory: directory, options: .init(maximumBytes: line * 10), logger: logs.logger("spool"))
        for index in 10..<17 { try spool.append(sizedEvent(index)) }
        #expect(logs.lines(.warning, "spool is filling up").isEmpty, "70 % must not warn")
        try spool.append(sizedEvent(17))
        let first = logs.lines(.warning, "spool is filling up")
        #expect(first.count == 1, "80 % must warn")
        #expect(first.first?.metadata["tokenledger.spool.bytes"] == String(line * 8))
        #expect(first.first?.metadata["tokenledger.spool.maximum_bytes"] == String(line * 10))
        #expect(first.first?.metadata["tokenledger.spool.directory"] == directory)
        try spool.append(sizedEvent(18))
        try spool.append(sizedEvent(19))
        #expect(logs.lines(.warning, "spool is filling up").count == 3, "every append past 80 % warns")
        #expect(spool.status().bytes == line * 10 && spool.status().events == 10)

        #expect {
            try spool.append(sizedEvent(20))
        } throws: { error in
            (error as? SpoolError)?.code == .full && "\(error)".contains("full") && "\(error)".contains(directory)
        }
        #expect(spool.status().bytes == line * 10 && spool.status().events == 10, "a refused event is not written")

        // The recorder with Redis down and the spool full: the event is lost, loudly and counted.
        let pool = RedisConnectionPool(configuration: try unreachableConfiguration())
        let repository = try TokenRepository(pool: pool)
        let metrics = TestMetrics()
        let recorder = UsageRecorder(
            repository: repository, spool: spool, options: .init(replaysInBackground: false),
            metrics: LedgerMetrics(factory: metrics), logger: logs.logger("recorder"))
        let outcome = await recorder.record(
            user: "u", callID: "call-21", usage: UsageRecord(inputTokens: 10, outputTokens: 5))
        guard case .failed(let error) = outcome else {
            Issue.record("a full spool must fail the event, got \(outcome)")
            return
        }
        #expect((error as? SpoolError)?.code == .full)
        #expect(!outcome.isDurable)
        #expect(metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "failed")]) == 1)
        #expect(metrics.counterTotal(label: "tokenledger_records_total", dimensions: [("result", "spooled")]) == 0)
        let critical = logs.lines(.critical, "usage lost: redis failed and the spool refused the event")
        #expect(critical.count == 1 && critical.first?.metadata["tokenledger.call_id"] == "call-21")
        #expect(spool.status().events == 10)
        await recorder.shutdown()
        await pool.close()
    }

    @Test(
        "the spool gauges: recorded while events spool (a last report catches up after the second) and after a replay")
    func spoolGauges() async throws {
        let directory = promisesSpoolDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let namespace = uniqueNamespace("gauges")
        let metrics = TestMetrics()
        let downPool = RedisConnectionPool(configuration: try unreachableConfiguration())
        let down = UsageRecorder(
            repository: try TokenRepository(
                pool: downPool, configuration: try LedgerConfiguration(namespace: namespace)),
            spool: try EventSpool(directory: directory), options: .init(replaysInBackground: false),
            metrics: LedgerMetrics(factory: metrics))
        // The trailing gauge report is a follow-up that run() runs.
        async let downRunning: Void = down.run()
        for index in 0..<5 {
            let outcome = await down.record(
                user: "g\(index % 2)", callID: "c\(index)",
                usage: UsageRecord(inputTokens: 10 + index, outputTokens: 1),
                cycle: date("2026-01-01"))
            guard case .spooled = outcome else {
                Issue.record("Redis is down: the event should spool, got \(outcome)")
                return
            }
        }
        let status = try #require(down.spool?.status())
        #expect(status.events == 5 && status.bytes > 0)
        let events = try metrics.expectGauge("tokenledger_spool_events")
        let bytes = try metrics.expectGauge("tokenledger_spool_bytes")
        #expect(events.values.first == 1, "the first spooled event is reported at once")
        #expect(
            await waitUntil { events.lastValue == 5 && bytes.lastValue == Double(status.bytes) },
            "the gauges did not catch up: events \(events.values), bytes \(bytes.values), status \(status)")
        await down.shutdown()
        try await downRunning
        await downPool.close()

        // Another process replays the spool into a live server: both gauges go to 0.
        try await withRedisServer { server async throws in
            let pool = RedisConnectionPool(configuration: server.configuration)
            let up = UsageRecorder(
                repository: try TokenRepository(
                    pool: pool, configuration: try LedgerConfiguration(namespace: namespace)),
                spool: try EventSpool(directory: directory), options: .init(replaysInBackground: false),
                metrics: LedgerMetrics(factory: metrics))
            let result = try await up.flush()
            #expect(result.applied == 5 && result.remaining == 0)
            #expect(events.lastValue == 0 && bytes.lastValue == 0)
            #expect(try await up.repository.usage(user: "g0", cycle: date("2026-01-01")).calls == 3)
            await up.shutdown()
            await pool.close()
        }
    }

    @Test(
        "non-default thresholds (50, 90, 120 %) fire from settle, once each, also several in one settle; never 80 or 100"
    )
    func settleFiresNonDefaultThresholds() async throws {
        try await withRepository(thresholds: [120, 50, 90]) { repository async throws in
            let now = at("2026-03-10T12:00:00Z")
            try await repository.setLimit(user: "t", tokens: 1_000)
            let thresholdEvents = { () async throws -> [[String: String]] in
                try await repository.events(user: "t", count: 1_000).filter { $0["type"] == "threshold" }
            }

            #expect(try await repository.reserve(user: "t", callID: "a", tokens: 600, at: now).status == .admitted)
            _ = try await repository.settle(
                user: "t", callID: "a", usage: UsageRecord(inputTokens: 400, outputTokens: 100), at: now)
            #expect(try await thresholdEvents().map { $0["threshold"] } == ["50"])
            // A replayed settle changes nothing and fires nothing.
            let again = try await repository.settle(
                user: "t", callID: "a", usage: UsageRecord(inputTokens: 400, outputTokens: 100), at: now)
            #expect(!again.applied)
            #expect(try await thresholdEvents().count == 1)

            // One settle from 500 to 1,300 passes 90 % and 120 %: one event each.
            #expect(try await repository.reserve(user: "t", callID: "b", tokens: 400, at: now).status == .admitted)
            _ = try await repository.settle(
                user: "t", callID: "b", usage: UsageRecord(inputTokens: 700, outputTokens: 100), at: now)
            // More usage past every threshold fires nothing more.
            _ = try await repository.settle(
                user: "t", callID: "c", usage: UsageRecord(inputTokens: 5, outputTokens: 5), at: now)
            let events = try await thresholdEvents()
            #expect(events.map { $0["threshold"] } == ["50", "90", "120"])
            #expect(events.map { $0["used"] } == ["500", "1300", "1300"])
            #expect(events.allSatisfy { $0["user"] == "t" && $0["cycle"] == "2026-03-01" && $0["limit"] == "1000" })
            #expect(try await repository.usage(user: "t", at: now).totalTokens == 1_310)
        }
    }

    @Test(
        "retention deletes only the old cycle's counters and call ids: profile, leases, reserved and the event stream stay as they were"
    )
    func retentionLeavesProfilesLeasesStreams() async throws {
        try await withRepository { repository async throws in
            let user = "keeper"
            let keys = try repository.keys.user(user)
            let old = date("2024-12-01")
            let recent = date("2026-02-01")
            let now = at("2026-02-10T01:00:00Z")
            try await repository.setLimit(user: user, tokens: 100)
            try await repository.setCyclePolicy(
                user: user, policy: try BillingCyclePolicy(period: .monthly(anchorDay: 1)))
            // 90 of 100 in the old cycle: an 80 % event on the stream.
            _ = try await repository.record(
                user: user, callID: "old", usage: UsageRecord(inputTokens: 80, outputTokens: 10), cycle: old)
            _ = try await repository.record(
                user: user, callID: "new", usage: UsageRecord(inputTokens: 5, outputTokens: 5), cycle: recent)
            #expect(
                try await repository.reserve(user: user, callID: "live", tokens: 7, ttl: .seconds(86_400), at: now)
                    .status == .admitted)

            let kept = [
                RedisCommand("HGETALL", keys.profile), RedisCommand("HGETALL", keys.leases),
                RedisCommand("ZRANGE", keys.leaseExpiry, 0, -1, "WITHSCORES"), RedisCommand("GET", keys.reserved),
                RedisCommand("XRANGE", keys.events, "-", "+"), RedisCommand("HGETALL", keys.cycle(recent)),
                RedisCommand(
                    "HGETALL", keys.callBucket(named: recent.description, fingerprint: CallFingerprint(callID: "new"))),
            ]
            let before = try await repository.pool.pipeline(kept)
            #expect(
                before.allSatisfy { reply in
                    if case .error = reply { return false }
                    return reply.array.map { !$0.isEmpty } ?? !reply.isNull
                }, "every kept key should hold something before the run: \(before)")
            #expect(
                try await repository.events(user: user).contains {
                    $0["threshold"] == "80" && $0["cycle"] == "2024-12-01"
                })

            let result = try await Rollover(repository: repository).run(try RolloverOptions(now: now))
            #expect(result.retentionCutoff == date("2025-01-10"))
            #expect(result.deletedUserCycles == 1)

            let oldBucket = keys.callBucket(named: old.description, fingerprint: CallFingerprint(callID: "old"))
            let gone = try await repository.pool.send(RedisCommand("EXISTS", keys.cycle(old), oldBucket))
            #expect(gone.int == 0, "the old cycle's counters and call ids go")
            var after = try await repository.pool.pipeline(kept)
            // The profile only gains the marks naming the old cycle: `folded` (rollover folded it
            // into its summary) and `retired` (retention then deleted it): a late event for it is
            // never applied (docs/operations.md); the limit and the policy stay.
            let profile = after[0].array ?? []
            var unmarked: [RedisReply] = []
            var marks: [String] = []
            for index in stride(from: 0, to: profile.count - 1, by: 2) {
                if profile[index].string == "folded" || profile[index].string == "retired" {
                    marks.append(profile[index + 1].string ?? "")
                } else {
                    unmarked += [profile[index], profile[index + 1]]
                }
            }
            #expect(marks == ["2024-12-01", "2024-12-01"], "\(profile)")
            after[0] = .array(unmarked)
            #expect(after == before, "retention changed a key it must leave alone")
            #expect(try await repository.limit(user: user).own == 100)
            #expect(try await repository.cyclePolicy(user: user).isOverride)
            #expect(try await Rollover(repository: repository).history(cycle: old).users.map(\.totalTokens) == [90])
        }
    }

    @Test(
        "the events stream is capped near 10,000 entries: 11,000 threshold events leave about 10,000, the newest kept")
    func streamCap() async throws {
        // 1,000 thresholds (1 … 1,000 %) and a limit of 1: one record of 10 tokens passes them all.
        try await withRepository(thresholds: Array(1...1_000)) { repository async throws in
            try await repository.setLimit(user: "s", tokens: 1)
            let cycles = (0..<11).map { date("2025-01-01").addingMonths($0) }
            for (index, cycle) in cycles.enumerated() {
                let result = try await repository.record(
                    user: "s", callID: "c\(index)", usage: UsageRecord(inputTokens: 5, outputTokens: 5), cycle: cycle)
                #expect(result.applied)
            }
            let stream = try repository.keys.user("s").events
            let length = try #require(try await repository.pool.send(RedisCommand("XLEN", stream)).int)
            #expect((10_000...10_200).contains(length), "XLEN \(length) after 11,000 events")
            let newest = try await repository.pool.send(RedisCommand("XREVRANGE", stream, "+", "-", "COUNT", 1))
            let fields = newest.array?.first?.array?.last?.array?.compactMap(\.string) ?? []
            #expect(
                fields.contains("threshold") && fields.contains("1000") && fields.contains(cycles.last!.description),
                "\(fields)")
            let oldest = try await repository.pool.send(RedisCommand("XRANGE", stream, "-", "+", "COUNT", 1))
            let oldestFields = oldest.array?.first?.array?.last?.array?.compactMap(\.string) ?? []
            // Trimming drops the oldest: what is left starts at event 11,000 - XLEN (from 0); each
            // record appended its cycle's thresholds from 1 % up.
            let firstKept = max(0, min(10_999, 11_000 - Int(length)))
            #expect(
                oldestFields == [
                    "type", "threshold", "user", "s", "cycle", cycles[firstKept / 1_000].description, "threshold",
                    String(firstKept % 1_000 + 1), "used", "10", "limit", "1",
                ], "the oldest events are trimmed first: \(oldestFields)")
        }
    }

    @Test(
        "passwords never appear in logs or errors: successful connections, refused connections, failed authentication")
    func passwordsNeverLogged() async throws {
        let password = "TopSecretPW-\(UUID().uuidString.prefix(8))"
        let wrong = "WrongSecretPW-\(UUID().uuidString.prefix(8))"
        let logs = CapturedLogs()
        var texts: [String] = []
        /// Every text an error shows (description, reflection, and the underlying error's).
        func shown(_ error: any Error) -> String {
            var text = "\(error) \(String(reflecting: error)) \(error.localizedDescription)"
            if let unavailable = error as? QuotaUnavailableError { text += " \(unavailable.underlying)" }
            return text
        }
        /// Runs the recorder, the guard (both policies) and the repository against `configuration`.
        func exercise(_ configuration: RedisConfiguration, label: String) async throws {
            texts.append("\(configuration) \(String(reflecting: configuration))")
            let pool = RedisConnectionPool(
                configuration: configuration, options: .init(maximumConnections: 2, waitTimeout: .seconds(30)),
                logger: logs.logger("pool-\(label)"))
            let repository = try TokenRepository(
                pool: pool, configuration: try LedgerConfiguration(namespace: uniqueNamespace("pw")),
                logger: logs.logger("repository-\(label)"))
            let directory = promisesSpoolDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let recorder = UsageRecorder(
                repository: repository,
                spool: try EventSpool(directory: directory, logger: logs.logger("spool-\(label)")),
                options: .init(
                    recordTimeout: .seconds(30), minimumBackoff: .milliseconds(10), maximumBackoff: .milliseconds(100)),
                logger: logs.logger("recorder-\(label)"))
            // Its background work (flusher, pipeline follow-ups) runs in run(); shutdown() ends it.
            async let recorderRunning: Void = recorder.run()
            let outcome = await recorder.record(
                user: "p", callID: "p1", usage: UsageRecord(inputTokens: 1, outputTokens: 1))
            texts.append("\(outcome)")
            if case .failed(let error) = outcome { texts.append(shown(error)) }
            if case .rejected(let error) = outcome { texts.append(shown(error)) }
            let messages = [ChatMessage(role: "user", content: "hi")]
            for policy in QuotaGuard.UnavailablePolicy.allCases {
                let guardian = QuotaGuard(
                    recorder: recorder, counting: .heuristic, whenUnavailable: policy,
                    logger: logs.logger("guard-\(label)"))
                do {
                    _ = try await guardian.run(
                        context: LLMCallContext(runID: "g-\(policy)", user: "p"), messages: messages, maxOutputTokens: 5
                    ) {
                        ("ok", UsageRecord(inputTokens: 1, outputTokens: 1))
                    }
                    _ = try await guardian.isAllowed(user: "p", tokens: 1)
                } catch {
                    texts.append(shown(error))
                }
            }
            do {
                _ = try await repository.usage(user: "p")
            } catch {
                texts.append(shown(error))
            }
            await recorder.shutdown()
            try await recorderRunning
            await pool.close()
        }

        // Connection refused, with a password configured.
        try await exercise(try unreachableConfiguration(password: password), label: "refused")
        #expect(!logs.lines.isEmpty, "the refused run should have logged")

        var options = RedisTestServer.Options()
        options.requirePassword = password
        options.aclUsers = [(name: "app", password: password, rules: "~* &* +@all")]
        try await withRedisServer(options) { server async throws in
            // Successful connections: the default user, and an ACL user from a URL.
            try await exercise(server.configuration, label: "ok")
            #expect(
                !logs.lines(.debug, "redis connection opened").isEmpty, "the pool logs its connections at debug level")
            let url = "redis://app:\(password)@127.0.0.1:\(server.port)/2"
            let fromURL = try RedisConfiguration(url: url)
            #expect(fromURL.username == "app" && fromURL.database == 2)
            try await exercise(fromURL, label: "url")
            texts.append(RedisConfiguration.redact(url: url))

            // Failed authentication: a wrong password (itself a secret), for the default and an ACL user.
            var badDefault = server.configuration
            badDefault.password = wrong
            try await exercise(badDefault, label: "wrong")
            var badUser = fromURL
            badUser.password = wrong
            try await exercise(badUser, label: "wrong-user")
            do {
                _ = try await RedisConnection.connect(configuration: badUser)
                Issue.record("a wrong password connected")
            } catch {
                texts.append(shown(error))
                #expect((error as? RedisError)?.code == .authenticationFailed)
            }
            // An invalid URL with a password is refused without echoing it.
            do {
                _ = try RedisConfiguration(url: "redis://app:\(password)@127.0.0.1:notaport")
                Issue.record("a bad port was accepted")
            } catch {
                texts.append(shown(error))
            }
        }

        let logged = logs.lines.map(\.text)
        #expect(
            (logged + texts).contains { $0.contains("authentication_failed") || $0.contains("WRONGPASS") },
            "the authentication failures were logged or thrown")
        for text in logged + texts {
            #expect(!text.contains(password), "the password leaked: \(text)")
            #expect(!text.contains(wrong), "the wrong password leaked: \(text)")
            #expect(
                !text.contains("TopSecretPW") && !text.contains("WrongSecretPW"), "part of a password leaked: \(text)")
        }
    }
}

import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

/// Extreme integers the fuzzer throws at every count, size and limit.
private let extremeIntegers = [
    Int.min, Int.min + 1, -1_000_000_000_000_000, -1, 0, 1, 999_999_999_999, 1_000_000_000_000, 1_000_000_000_001,
    9_007_199_254_740_991, 9_007_199_254_740_992, Int(Int32.max), Int.max - 1, Int.max,
]

/// Extreme durations: negative, zero, tiny, just past each bound, the largest `Duration` can hold.
private let extremeDurations: [Duration] = [
    .seconds(Int64.min), .seconds(-1), .zero, .nanoseconds(1), .milliseconds(1), .seconds(600), .seconds(7 * 86_400),
    .seconds(7 * 86_400) + .nanoseconds(1), .seconds(86_400 * 365), .seconds(Int64.max),
    .seconds(Int64.max) + .seconds(Int64.max),
    Duration(secondsComponent: Int64.max, attosecondsComponent: 999_999_999_999_999_999),
]

/// Extreme instants: not a number, infinities, far past and future, the edges of the accepted range.
private let extremeInstants: [Date] = [
    Date(timeIntervalSince1970: -.infinity), Date(timeIntervalSince1970: .infinity), Date(timeIntervalSince1970: .nan),
    Date(timeIntervalSince1970: -1e300), Date(timeIntervalSince1970: 1e300), Date(timeIntervalSince1970: -0.001),
    Date(timeIntervalSince1970: 0), Validation.earliestEventInstant, Validation.latestEventInstant,
    Validation.latestEventInstant.addingTimeInterval(-0.001), Date(timeIntervalSince1970: 1_790_000_000),
]

/// Whether an error is one of the library's typed errors (the contract: a typed error or a valid result).
private func isTyped(_ error: any Error) -> Bool {
    error is ValidationError || error is LedgerError || error is ExtractionError || error is RedisError
}

/// Runs `body` and records a failure unless it returned or threw a typed error. A trap would end
/// the whole test process, which fails the run.
private func expectTypedOrValue<T>(
    _ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async {
    do {
        _ = try await body()
    } catch {
        #expect(isTyped(error), "\(what): untyped error \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("Input that must not crash or be silently wrong")
struct InputBoundsTests {
    // MARK: - 1. No input traps

    @Test("the issue's repro: a TTL of Int.max seconds is a ValidationError naming ttl; nothing is written")
    func hugeTTL() async throws {
        try await withRepository { repository in
            let before = try await snapshot(repository)
            let error = await #expect(throws: ValidationError.self) {
                try await repository.reserve(user: "lu", callID: "r2", tokens: 10, ttl: .seconds(Int64.max))
            }
            #expect(error?.code == .invalidDuration && error?.field == "ttl", "\(String(describing: error))")
            #expect(error?.message.contains("ttl") == true)
            #expect(try await snapshot(repository) == before)
            // The largest accepted TTL works.
            let lease = try await repository.reserve(
                user: "lu", callID: "r3", tokens: 10, ttl: Validation.maximumLeaseTTL)
            #expect(lease.status == .admitted)
        }
    }

    @Test("fuzz: extreme integers, durations and instants at every public entry point give a typed error or a value")
    func fuzzLibraryAPI() async throws {
        try await withRepository { repository in
            var random = SplitMix64(seed: 0xB0_0D5)
            func anyInteger() -> Int {
                random.next() % 3 == 0
                    ? Int(truncatingIfNeeded: random.next())
                    : extremeIntegers[Int(random.next() % UInt64(extremeIntegers.count))]
            }
            func anyDuration() -> Duration { extremeDurations[Int(random.next() % UInt64(extremeDurations.count))] }
            func anyInstant() -> Date { extremeInstants[Int(random.next() % UInt64(extremeInstants.count))] }
            var outcomes = (values: 0, errors: 0)
            func note(_ body: () async throws -> Void) async {
                do {
                    try await body()
                    outcomes.values += 1
                } catch {
                    #expect(isTyped(error), "untyped error \(type(of: error)): \(error)")
                    outcomes.errors += 1
                }
            }
            for round in 0..<60 {
                let user = "fz\(round % 5)"
                let usage = UsageRecord(
                    inputTokens: anyInteger(), outputTokens: anyInteger(), cachedInputTokens: anyInteger(),
                    cacheWriteTokens: anyInteger(), reasoningTokens: anyInteger())
                _ = usage.totalTokens  // must not trap either
                await note {
                    _ = try await repository.record(user: user, callID: "c\(round)", usage: usage, at: anyInstant())
                }
                await note {
                    _ = try await repository.settle(user: user, callID: "s\(round)", usage: usage, at: anyInstant())
                }
                await note {
                    _ = try await repository.reserve(
                        user: user, callID: "r\(round)", tokens: anyInteger(), ttl: anyDuration(), at: anyInstant())
                }
                await note { _ = try await repository.release(user: user, callID: "r\(round)") }
                await note { _ = try await repository.check(user: user, tokens: anyInteger(), at: anyInstant()) }
                await note { _ = try await repository.usage(user: user, at: anyInstant()) }
                await note { try await repository.setLimit(user: user, tokens: anyInteger()) }
                await note { try await repository.setDefaultLimit(anyInteger()) }
                await note { _ = try await repository.events(user: user, count: anyInteger()) }
                await note { _ = try await repository.report(top: anyInteger(), at: anyInstant()) }
                await note {
                    let period: BillingCyclePolicy.Period =
                        round % 3 == 0
                        ? .monthly(anchorDay: anyInteger())
                        : round % 3 == 1 ? .weekly(anchorWeekday: anyInteger()) : .daily
                    let policy = try BillingCyclePolicy(period: period)
                    _ = policy.cycle(containing: anyInstant())
                    try await repository.setCyclePolicy(user: user, policy: policy)
                }
                await note {
                    _ = try RolloverOptions(
                        now: anyInstant(), retentionMonths: anyInteger(), batchSize: anyInteger(),
                        lockTTL: anyDuration())
                }
                await note {
                    _ = try MigrationOptions(batchSize: anyInteger(), pause: anyDuration(), lockTTL: anyDuration())
                }
                await note {
                    _ = try LedgerConfiguration(
                        namespace: "fz", thresholds: [anyInteger()], defaultLeaseTTL: anyDuration(),
                        settingsCacheTTL: anyDuration())
                }
                await note {
                    let extracted = ExtractedUsage(
                        provider: .openai, inputTokens: anyInteger(), outputTokens: anyInteger(),
                        cachedInputTokens: anyInteger(), cacheWriteTokens: anyInteger(), reasoningTokens: anyInteger(),
                        onlyTotal: anyInteger())
                    _ = extracted.resolved(promptEstimate: anyInteger()).totalTokens
                }
                await note {
                    let number = String(anyInteger())
                    let body =
                        #"{"usage":{"prompt_tokens":\#(number),"completion_tokens":\#(number),"total_tokens":1e300}}"#
                    _ = try UsageExtractor.extractUsage(from: Data(body.utf8), provider: .auto)
                }
                let far = CalendarDate(daysSince1970: anyInteger()).adding(days: anyInteger())
                _ = makePolicy(.daily).cycle(containing: far)
                _ = far.firstInstant(in: .gmt)
                await note { _ = HeuristicTokenEstimator().countTokens(in: String(repeating: "é🦀 ", count: round)) }
                _ = HTMLReport.render(
                    UsageReport(cycle: day("2026-11-01"), users: [], totals: .init()), top: anyInteger(),
                    namespace: "fz")
                _ =
                    QuotaDecision(
                        allowed: true, user: user, cycle: day("2026-11-01"), used: anyInteger(), reserved: anyInteger(),
                        limit: anyInteger(), requested: anyInteger()
                    ).remaining
            }
            // A recorder with extreme options: bounded at use, never a trap.
            let recorder = UsageRecorder(
                repository: repository,
                options: .init(
                    recordTimeout: .seconds(Int64.max), minimumBackoff: .seconds(Int64.max),
                    maximumBackoff: .seconds(Int64.max),
                    replaysInBackground: false))
            let outcome = await recorder.record(
                user: "fzr", callID: "x", usage: UsageRecord(inputTokens: 1, outputTokens: 1),
                at: Date(timeIntervalSince1970: 1e300))
            if case .rejected(let error) = outcome {
                #expect((error as? ValidationError)?.code == .invalidInstant)
            } else {
                Issue.record("an event at 1e300 s was not rejected: \(outcome)")
            }
            // Handlers and the quota guard with extreme counts and timeouts.
            let handler = CompositeCallbackHandler(
                [DetailedRedisTokenCallbackHandler(recorder: recorder)], timeout: .seconds(Int64.max))
            for total in [Int.min, -1, Int.max] {
                let context = LLMCallContext(user: "fzh", provider: "openai", model: "gpt-4o")
                await handler.onLLMStart(messages: [], context: context)
                await handler.onLLMEnd(response: LLMResponse(totalTokens: total, text: "hi"), context: context)
            }
            let guarded = QuotaGuard(repository: repository, leaseTTL: .seconds(Int64.max))
            for maxOutput in [Int.min, Int.max] {
                await expectTypedOrValue("QuotaGuard.run maxOutputTokens \(maxOutput)") {
                    try await guarded.run(
                        context: LLMCallContext(user: "fzq"), messages: [], maxOutputTokens: maxOutput
                    ) {
                        ((), UsageRecord(inputTokens: 1, outputTokens: 1))
                    }
                }
            }
            await recorder.shutdown()
            // Both kinds of outcome happened, so the fuzzer reached past validation too.
            #expect(outcomes.values > 100 && outcomes.errors > 100, "\(outcomes)")
        }
    }

    @Test("every extreme duration, with every other argument valid, is a value or a ValidationError")
    func everyExtremeDuration() async throws {
        for duration in extremeDurations {
            await expectTypedOrValue("lease TTL \(duration)") { try Validation.leaseTTLMilliseconds(duration) }
            await expectTypedOrValue("validateDuration \(duration)") {
                try Validation.validateDuration(duration, field: "timeout", maximum: Validation.maximumTimeout)
            }
            await expectTypedOrValue("LedgerConfiguration lease \(duration)") {
                try LedgerConfiguration(defaultLeaseTTL: duration)
            }
            await expectTypedOrValue("LedgerConfiguration cache \(duration)") {
                try LedgerConfiguration(settingsCacheTTL: duration)
            }
            await expectTypedOrValue("RolloverOptions \(duration)") { try RolloverOptions(lockTTL: duration) }
            await expectTypedOrValue("MigrationOptions lock \(duration)") { try MigrationOptions(lockTTL: duration) }
            await expectTypedOrValue("MigrationOptions pause \(duration)") { try MigrationOptions(pause: duration) }
        }
        try await withRepository { repository in
            for (index, duration) in extremeDurations.enumerated() {
                await expectTypedOrValue("reserve ttl \(duration)") {
                    try await repository.reserve(
                        user: "d", callID: "d\(index)", tokens: 1, ttl: duration, at: at("2026-11-10T00:00:00Z"))
                }
            }
            // A pool whose wait timeout is the largest Duration: a waiter times out in words, never traps.
            var configuration = repository.pool.configuration
            configuration.commandTimeout = .seconds(Int64.max)
            let metrics = TestMetrics()
            let pool = RedisConnectionPool(
                configuration: configuration, options: .init(maximumConnections: 1, waitTimeout: .seconds(Int64.max)),
                metrics: metrics)
            var second: Task<RedisReply, any Error>?
            try await pool.withConnection { connection in
                // A second caller waits for the only connection: its wait-timeout task starts now.
                second = Task { try await pool.send(RedisCommand("PING")) }
                #expect(await waitUntil(timeout: .seconds(60)) { metrics.poolWaiting == 1 })
                _ = try await connection.send(RedisCommand("PING"))
            }
            #expect(try await second?.value.string == "PONG")
            await pool.close()
        }
    }

    @Test("lease, lock and configuration durations are bounded with errors naming the field")
    func durationBounds() throws {
        #expect(throws: ValidationError.self) { try LedgerConfiguration(defaultLeaseTTL: .seconds(Int64.max)) }
        #expect(throws: ValidationError.self) { try RolloverOptions(lockTTL: .seconds(Int64.max)) }
        #expect(throws: ValidationError.self) { try MigrationOptions(pause: .seconds(Int64.max)) }
        #expect(try Validation.leaseTTLMilliseconds(.seconds(600)) == 600_000)
        #expect(try Validation.leaseTTLMilliseconds(.milliseconds(1)) == 1)
        do {
            _ = try Validation.leaseTTLMilliseconds(.zero)
            Issue.record("a zero TTL was accepted")
        } catch {
            #expect(error.field == "ttl" && error.message.hasPrefix("ttl is 0 s"), "\(error.message)")
        }
    }

    // MARK: - 2. Reserve conflicts

    @Test("a reserve retried with the same call id: same amount is held, another amount is a conflict naming both")
    func reserveConflict() async throws {
        try await withRepository { repository in
            try await repository.setLimit(user: "rc", tokens: 1000)
            let first = try await repository.reserve(user: "rc", callID: "r2", tokens: 10)
            #expect(first.status == .admitted && first.decision.reserved == 10)
            let again = try await repository.reserve(user: "rc", callID: "r2", tokens: 10)
            #expect(again.status == .held && again.decision.reserved == 10)
            let before = try await snapshot(repository)
            let error = await #expect(throws: ValidationError.self) {
                try await repository.reserve(user: "rc", callID: "r2", tokens: 500)
            }
            #expect(error?.code == .reservationConflict, "\(String(describing: error))")
            #expect(
                error?.message.contains("10 tokens") == true && error?.message.contains("not 500") == true,
                "\(error?.message ?? "")")
            #expect(try await snapshot(repository) == before)
            // Released, the call id may reserve another amount.
            #expect(try await repository.release(user: "rc", callID: "r2") == 10)
            #expect(try await repository.reserve(user: "rc", callID: "r2", tokens: 500).status == .admitted)
        }
    }

    // MARK: - 3. Invalid UTF-8

    @Test("user ids given as bytes: ff fe and fe ff are refused, not merged into U+FFFD U+FFFD")
    func invalidUTF8UserIDs() throws {
        for bytes: [UInt8] in [[0xFF, 0xFE], [0xFE, 0xFF], [0x61, 0xC3], [0xED, 0xA0, 0x80]] {
            do {
                let decoded = try Validation.decodeUserID(bytes)
                Issue.record("\(bytes) decoded as \(decoded.unicodeScalars.map { $0.value })")
            } catch {
                #expect(error.code == .invalidUTF8 && error.message.contains("not valid UTF-8"), "\(error.message)")
            }
        }
        #expect(try Validation.decodeUserID(Array("zoë".utf8)) == "zoë")
        #expect(Validation.firstInvalidUTF8Offset(Array("ab".utf8) + [0xFF]) == 2)
    }

    // MARK: - 4. Newer schema

    @Test("every writer refuses a namespace whose schema is newer than the build; nothing changes")
    func newerSchemaRefusesWrites() async throws {
        try await withRepository { repository in
            _ = try await repository.record(
                user: "ns", callID: "before", usage: UsageRecord(inputTokens: 1, outputTokens: 1),
                at: at("2026-11-10T00:00:00Z"))
            _ = try await repository.reserve(user: "ns", callID: "lease", tokens: 5, at: at("2026-11-10T00:00:00Z"))
            let key = repository.keys.schema
            _ = try await repository.pool.send(RedisCommand("SET", key, LedgerKeys.schemaVersion + 1))
            // A fresh repository (as a new process) sees the newer schema at its first write.
            let fresh = try TokenRepository(pool: repository.pool, configuration: repository.configuration)
            let before = try await snapshot(fresh)
            let usage = UsageRecord(inputTokens: 1, outputTokens: 1)
            let now = at("2026-11-10T00:00:00Z")
            let writers: [(String, () async throws -> Void)] = [
                ("record", { _ = try await fresh.record(user: "ns", callID: "a", usage: usage, at: now) }),
                ("settle", { _ = try await fresh.settle(user: "ns", callID: "lease", usage: usage, at: now) }),
                ("reserve", { _ = try await fresh.reserve(user: "ns", callID: "b", tokens: 1, at: now) }),
                ("release", { _ = try await fresh.release(user: "ns", callID: "lease") }),
                ("limit set", { try await fresh.setLimit(user: "ns", tokens: 5) }),
                ("limit clear", { try await fresh.clearLimit(user: "ns") }),
                ("default limit", { try await fresh.setDefaultLimit(5) }),
                ("cycle set", { try await fresh.setCyclePolicy(user: "ns", policy: makePolicy(.daily)) }),
                ("default cycle", { try await fresh.setDefaultCyclePolicy(makePolicy(.daily)) }),
                ("reset", { _ = try await fresh.reset(user: "ns", at: now) }),
                ("rollover", { _ = try await Rollover(repository: fresh).run(try RolloverOptions(now: now)) }),
            ]
            for (name, write) in writers {
                do {
                    try await write()
                    Issue.record("\(name) wrote into a newer schema")
                } catch let error as LedgerError {
                    #expect(
                        error.code == .newerSchema && error.message.contains("newer than this build"),
                        "\(name): \(error)")
                } catch {
                    Issue.record("\(name): \(error)")
                }
            }
            // The recorder refuses too (not spooled, not written); a dry-run rollover may still look.
            let recorder = UsageRecorder(repository: fresh, options: .init(replaysInBackground: false))
            let outcome = await recorder.record(user: "ns", callID: "c", usage: usage, at: now)
            if case .rejected(let error) = outcome {
                #expect((error as? LedgerError)?.code == .newerSchema)
            } else {
                Issue.record("the recorder did not refuse: \(outcome)")
            }
            await recorder.shutdown()
            _ = try await Rollover(repository: fresh).run(try RolloverOptions(now: now, dryRun: true))
            #expect(try await snapshot(fresh) == before)
            // Reads still work.
            #expect(try await fresh.usage(user: "ns", at: now).totalTokens == 2)
            // Back at this build's version, the same repository writes (the refusal was not cached).
            _ = try await repository.pool.send(RedisCommand("SET", key, LedgerKeys.schemaVersion))
            #expect(try await fresh.record(user: "ns", callID: "a", usage: usage, at: now).applied)
            #expect(fresh.schemaKnownWritable)
        }
    }

    // MARK: - 5. Stored garbage

    @Test("report lists a user whose cycle holds garbage as unreadable, out of the totals; usage refuses it")
    func garbageIsReported() async throws {
        try await withRepository { repository in
            let cycle = day("2026-11-01")
            let usage = UsageRecord(inputTokens: 5, outputTokens: 5)
            for user in ["ok", "wrongtype", "nonnumeric", "negative"] {
                _ = try await repository.record(user: user, callID: "c", usage: usage, cycle: cycle)
            }
            let wrongType = try repository.keys.user("wrongtype").cycle(cycle)
            _ = try await repository.pool.send(RedisCommand("DEL", wrongType))
            _ = try await repository.pool.send(RedisCommand("SET", wrongType, "garbage"))
            _ = try await repository.pool.send(
                RedisCommand("HSET", try repository.keys.user("nonnumeric").cycle(cycle), "output_tokens", "abc"))
            _ = try await repository.pool.send(
                RedisCommand("HSET", try repository.keys.user("negative").cycle(cycle), "input_tokens", "-7"))
            let report = try await repository.report(cycle: cycle)
            #expect(report.users.map(\.user) == ["ok"])
            #expect(report.totals.users == 1 && report.totals.totalTokens == 10)
            #expect(report.unreadable.map(\.user) == ["negative", "nonnumeric", "wrongtype"])
            let reasons = report.unreadable.map(\.reason)
            #expect(reasons[0].contains("input_tokens is '-7'"), "\(reasons[0])")
            #expect(reasons[1].contains("output_tokens is 'abc'"), "\(reasons[1])")
            #expect(reasons[2].contains(wrongType), "\(reasons[2])")
            // The JSON lists them; a healthy report keeps its documented shape.
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let json = String(decoding: try encoder.encode(report), as: UTF8.self)
            #expect(json.contains(#""unreadable":[{"reason":"#))
            let healthy = String(
                decoding: try encoder.encode(UsageReport(cycle: cycle, users: [], totals: .init())), as: UTF8.self)
            #expect(!healthy.contains("unreadable"))
            for user in ["nonnumeric", "negative", "wrongtype"] {
                let error = await #expect(throws: LedgerError.self) {
                    try await repository.usage(user: user, cycle: cycle)
                }
                #expect(error?.code == .corruptData, "\(user): \(String(describing: error))")
            }
            // reset, the remedy, works on such a cycle; afterwards the user reads again.
            let before = try await repository.reset(user: "nonnumeric", cycle: cycle)
            #expect(before.inputTokens == 5 && before.outputTokens == 0)
            #expect(try await repository.usage(user: "nonnumeric", cycle: cycle).totalTokens == 0)
            // A stored limit that is not a number is reported, not read as "no limit of its own".
            _ = try await repository.pool.send(
                RedisCommand("HSET", try repository.keys.user("ok").profile, "limit", "lots"))
            let limitError = await #expect(throws: LedgerError.self) { try await repository.limit(user: "ok") }
            #expect(limitError?.code == .corruptData && limitError?.message.contains("'lots'") == true)
        }
    }

    @Test("a per-model counter that is not a number makes the user unreadable, never 0")
    func garbageModelCounter() async throws {
        try await withRepository { repository in
            let cycle = day("2026-11-01")
            _ = try await repository.record(
                user: "m", callID: "a", usage: UsageRecord(inputTokens: 5, outputTokens: 5), model: "one", cycle: cycle)
            _ = try await repository.record(
                user: "m", callID: "b", usage: UsageRecord(inputTokens: 5, outputTokens: 5), model: "two", cycle: cycle)
            _ = try await repository.pool.send(
                RedisCommand("HSET", try repository.keys.user("m").cycle(cycle), "m:input_tokens:two", "x"))
            let report = try await repository.report(cycle: cycle)
            #expect(report.users.isEmpty && report.totals.users == 0 && report.totals.totalTokens == 0)
            #expect(report.unreadable.first?.reason.contains("m:input_tokens:two") == true, "\(report.unreadable)")
        }
    }

    // MARK: - 7. Spool replay

    @Test("replayed events are validated like fresh ones; another namespace's event stays spooled, the rest applies")
    func replayValidates() async throws {
        try await withRepository { repository in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)")
                .path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let ns = repository.keys.namespace
            func line(_ callID: String, at: String, user: String = "sp", namespace: String? = nil) -> String {
                #"{"at":\#(at),"call_id":"\#(callID)","model":"","namespace":"\#(namespace ?? ns)","op":"record","provider":"","user":"\#(user)","usage":{"input_tokens":1,"output_tokens":1,"source":"reported"}}"#
            }
            var bytes =
                Array(
                    [
                        line("far", at: "1e300"), line("before", at: "-1"),
                        line("other", at: "1790000000000", namespace: "elsewhere"),
                        line("good1", at: "1790000000000"),
                    ].joined(separator: "\n").utf8) + [0x0A]
            // A line whose user id holds the bytes ff fe.
            bytes +=
                Array(#"{"at":1790000000000,"call_id":"bad-utf8","model":"","namespace":""#.utf8) + Array(ns.utf8)
                + Array(#"","op":"record","provider":"","user":""#.utf8) + [0xFF, 0xFE]
                + Array(#"","usage":{"input_tokens":1,"output_tokens":1,"source":"reported"}}"#.utf8) + [0x0A]
            bytes += Array((line("good2", at: "1790000000001") + "\n").utf8)
            // A line whose cost is negative (written by hand or damaged): refused, never applied (-1
            // nano-USD would otherwise reach the script as its "unpriced" marker).
            bytes += Array(
                (line("neg-cost", at: "1790000000002").replacingOccurrences(
                    of: #""call_id""#, with: #""cost_usd":"-0.000000001","call_id""#) + "\n").utf8)
            let segment = directory + "/segment-1-1-test.jsonl"
            #expect(FileManager.default.createFile(atPath: segment, contents: Data(bytes)))
            let spool = try EventSpool(directory: directory)
            let recorder = UsageRecorder(
                repository: repository, spool: spool, options: .init(replaysInBackground: false))
            let result = try await recorder.flush()
            await recorder.shutdown()
            #expect(result.applied == 2 && result.rejected == 4, "\(result)")
            #expect(result.otherNamespace == 1 && result.remaining == 1, "\(result)")
            // The other namespace's event is still spooled, alone.
            let left = String(decoding: try Data(contentsOf: URL(fileURLWithPath: segment)), as: UTF8.self)
            #expect(left == line("other", at: "1790000000000", namespace: "elsewhere") + "\n")
            // The rejected ones are in the rejected file; nothing was booked outside 2000…9999.
            #expect(spool.status().rejected == 4)
            let reasonFiles = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
                $0.hasSuffix(".reasons")
            }
            let reasons = try String(contentsOfFile: directory + "/" + #require(reasonFiles.first), encoding: .utf8)
                .split(separator: "\n").map(String.init)
            #expect(reasons.count == 4, "\(reasons)")
            #expect(
                reasons.contains { $0.contains("neg-cost") && $0.contains("cost_usd is -0.000000001") }, "\(reasons)")
            #expect(
                reasons.first?.contains(#""call_id":"far""#) == true
                    && reasons.first?.contains("an event's instant must be") == true)
            #expect(reasons.contains { $0.contains("not valid UTF-8") }, "\(reasons)")
            let cycles =
                try await repository.pool.send(RedisCommand("KEYS", ns + ":{sp}:cycle:*")).array?.compactMap(\.string)
                ?? []
            #expect(cycles == [ns + ":{sp}:cycle:2026-09-01"], "\(cycles)")
            #expect(try await repository.usage(user: "sp", cycle: day("2026-09-01")).totalTokens == 4)
        }
    }
}

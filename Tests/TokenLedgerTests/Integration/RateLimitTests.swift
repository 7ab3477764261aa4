import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

/// The rate window of a scope as Redis holds it: entry id → (ms charged, tokens).
private func rateWindow(_ repository: TokenRepository, _ scope: LedgerScope) async throws -> [String: (Int, Int)] {
    let keys = try repository.keys.scope(scope)
    let scored = try await repository.pool.send(RedisCommand("ZRANGE", keys.rate, "0", "-1", "WITHSCORES"))
    let tokens = try await repository.pool.send(HGETALL(keys.rateTokens))
    let fields = scored.array ?? []
    var window: [String: (Int, Int)] = [:]
    for index in stride(from: 0, to: fields.count, by: 2) {
        let id = try #require(fields[index].string)
        let at = try #require(fields[index + 1].string.flatMap { Int($0) })
        window[id] = (at, try #require(tokens[id].flatMap { Int($0) }))
    }
    return window
}

/// Redis's clock (`TIME`) in milliseconds: the clock the rate scripts read.
func serverMilliseconds(_ repository: TokenRepository) async throws -> Int {
    let time = try await repository.pool.send(RedisCommand("TIME")).array ?? []
    let seconds = try #require(time.first?.string.flatMap { Int($0) })
    let micros = try #require(time.last?.string.flatMap { Int($0) })
    return seconds * 1000 + micros / 1000
}

/// Whether any of a scope's rate keys exists.
private func hasRateKeys(_ repository: TokenRepository, _ scope: LedgerScope) async throws -> Bool {
    let keys = try repository.keys.scope(scope)
    return try await repository.pool.send(EXISTS([keys.rate, keys.rateTokens])) > 0
}

@Suite("Rate limits: tpm and rpm over a sliding 60 s window")
struct RateLimitTests {
    @Test(
        "with tpm 10000 a burst is admitted up to 10000 tokens in any 60 s window; the next is denied with retry_after_ms, after which it is admitted"
    )
    func tpmBurstAndRetry() async throws {
        try await withRepository { repository async throws in
            try await repository.setRateLimit(scope: .user("u"), tpm: 10_000, rpm: nil)
            // 24 concurrent reservations of 1,000 tokens: exactly ten fit.
            let outcomes = try await withThrowingTaskGroup(of: Reservation.self) { group in
                for index in 0..<24 {
                    group.addTask {
                        try await repository.reserve(user: "u", callID: "b\(index)", tokens: 1000, at: testInstant)
                    }
                }
                return try await group.reduce(into: [Reservation]()) { $0.append($1) }
            }
            let admitted = outcomes.filter { $0.status == .admitted }
            let denied = outcomes.filter { $0.status == .denied }
            #expect(admitted.count == 10 && denied.count == 14)
            for denial in denied {
                #expect(denial.decision.deniedBy == .tpm && denial.decision.deniedScope == "user:u")
                #expect(denial.decision.tpm == 10_000 && denial.decision.windowTokens == 10_000)
                let wait = try #require(denial.decision.retryAfterMilliseconds)
                #expect(wait >= 1 && wait <= 60_000)
            }
            var seen = try await rateWindow(repository, .user("u"))
            #expect(seen.count == 10 && seen.values.map(\.1).reduce(0, +) == 10_000)

            // The burst is aged, as if it had been admitted 59 s ago (its entries' times moved back
            // together, by Redis's clock), so the retry below waits about a second, not a minute.
            let now = try await serverMilliseconds(repository)
            let shift = now - 59_000 - (seen.values.map(\.0).min() ?? now)
            let rateKey = try repository.keys.scope(.user("u")).rate
            for (id, entry) in seen {
                _ = try await repository.pool.send(RedisCommand("ZADD", rateKey, "XX", String(entry.0 + shift), id))
            }
            seen = try await rateWindow(repository, .user("u"))

            let next = try await repository.reserve(user: "u", callID: "next", tokens: 1000, at: testInstant)
            #expect(next.status == .denied && next.decision.deniedBy == .tpm)
            let wait = try #require(next.decision.retryAfterMilliseconds)
            #expect(wait >= 1 && wait <= 1000 && next.decision.rateNeverFits == false)
            // The entries charged at the oldest time must leave: retry_after_ms says when, by Redis's clock.
            try await Task.sleep(for: .milliseconds(wait))
            let retried = try await repository.reserve(user: "u", callID: "next", tokens: 1000, at: testInstant)
            #expect(retried.status == .admitted, "\(retried.decision)")
            for (id, entry) in try await rateWindow(repository, .user("u")) { seen[id] = entry }
            #expect(seen["next"] != nil)

            // Sweep: every 60 s window starting at an admitted entry holds at most 10,000 tokens.
            let entries = seen.values.sorted { $0.0 < $1.0 }
            for (start, _) in entries {
                let inWindow = entries.filter { $0.0 >= start && $0.0 < start + 60_000 }.map(\.1).reduce(0, +)
                #expect(inWindow <= 10_000, "window from \(start) holds \(inWindow)")
            }
        }
    }

    @Test("retry_after_ms is when the oldest entries that must leave do: seeded entries at known times")
    func retryAfterFromSeededWindow() async throws {
        try await withRepository { repository async throws in
            try await repository.setRateLimit(scope: .user("e"), tpm: 10_000, rpm: nil)
            let keys = try repository.keys.scope(.user("e"))
            // Three entries of 3,000 tokens charged 50 s, 40 s and 30 s ago by Redis's clock (9,000).
            let before = try await serverMilliseconds(repository)
            let times = [before - 50_000, before - 40_000, before - 30_000]
            for (index, time) in times.enumerated() {
                _ = try await repository.pool.send(RedisCommand("ZADD", keys.rate, String(time), "e\(index)"))
                _ = try await repository.pool.send(RedisCommand("HSET", keys.rateTokens, "e\(index)", "3000"))
            }
            _ = try await repository.pool.send(RedisCommand("HSET", keys.rateTokens, "", "9000"))
            // tokens -> the entry whose leaving frees enough: 1,000 fit now; 4,000 need e0 gone (3,000
            // freed), 5,000 and 7,000 need e0 and e1 (4,000 and 6,000), 7,001 needs e2 as well.
            let cases: [(tokens: Int, entry: Int?)] = [(1000, nil), (4000, 0), (5000, 1), (7000, 1), (7001, 2)]
            var decisions: [(Int, QuotaDecision)] = []
            for (tokens, _) in cases {
                decisions.append((tokens, try await repository.check(user: "e", tokens: tokens, at: testInstant)))
            }
            let denied = try await repository.reserve(user: "e", callID: "x", tokens: 7001, at: testInstant)
            let after = try await serverMilliseconds(repository)
            decisions.append((7001, denied.decision))
            for ((tokens, decision), entry) in zip(decisions, cases.map(\.entry) + [2]) {
                #expect(decision.windowTokens == 9000 && decision.windowRequests == 3, "\(tokens)")
                guard let entry else {
                    #expect(decision.allowed && decision.retryAfterMilliseconds == nil, "\(tokens)")
                    continue
                }
                #expect(!decision.allowed && decision.deniedBy == .tpm, "\(tokens)")
                // The script's clock read `now` between `before` and `after`: retry = time + 60,000 - now.
                let wait = try #require(decision.retryAfterMilliseconds)
                let latest = times[entry] + 60_000 - before
                #expect(wait <= latest && wait >= latest - (after - before), "\(tokens): \(wait) for e\(entry)")
            }
            #expect(denied.status == .denied)
            // rpm 2 with 3 requests in the window: the two oldest must leave, so the wait is e1's.
            try await repository.setRateLimit(scope: .user("e"), tpm: 100_000, rpm: 2)
            let rpm = try await repository.check(user: "e", tokens: 1, at: testInstant)
            let rpmAfter = try await serverMilliseconds(repository)
            let wait = try #require(rpm.retryAfterMilliseconds)
            #expect(rpm.deniedBy == .rpm && rpm.windowRequests == 3)
            #expect(wait <= times[1] + 60_000 - before && wait >= times[1] + 60_000 - rpmAfter, "\(wait)")
        }
    }

    @Test("settling for fewer tokens than reserved frees the difference at once; release returns the charge")
    func settleCorrects() async throws {
        try await withRepository { repository async throws in
            try await repository.setRateLimit(scope: .user("s"), tpm: 1000, rpm: nil)
            #expect(
                try await repository.reserve(user: "s", callID: "a", tokens: 800, at: testInstant).status == .admitted)
            let denied = try await repository.reserve(user: "s", callID: "b", tokens: 500, at: testInstant)
            #expect(denied.status == .denied && denied.decision.deniedBy == .tpm)
            #expect(denied.decision.denialReason?.contains("rate limit (tpm)") == true)
            _ = try await repository.settle(
                user: "s", callID: "a", usage: UsageRecord(inputTokens: 60, outputTokens: 40), at: testInstant)
            let admitted = try await repository.reserve(user: "s", callID: "b", tokens: 500, at: testInstant)
            #expect(admitted.status == .admitted && admitted.decision.windowTokens == 600)
            #expect(try await rateWindow(repository, .user("s"))["a"]?.1 == 100)

            // A settle for more than reserved adds the difference.
            _ = try await repository.settle(
                user: "s", callID: "b", usage: UsageRecord(inputTokens: 500, outputTokens: 200), at: testInstant)
            #expect(try await repository.check(user: "s", at: testInstant).windowTokens == 800)

            // Release returns the whole charge of a lease.
            #expect(
                try await repository.reserve(user: "s", callID: "c", tokens: 200, at: testInstant).status == .admitted)
            #expect(try await repository.check(user: "s", tokens: 1, at: testInstant).deniedBy == .tpm)
            _ = try await repository.releaseLease(user: "s", callID: "c")
            let after = try await repository.check(user: "s", tokens: 200, at: testInstant)
            #expect(after.allowed && after.windowTokens == 800 && after.windowRequests == 2)
        }
    }

    @Test("rpm counts requests, independent of tokens; check reports the decision without charging")
    func rpmCountsRequests() async throws {
        try await withRepository { repository async throws in
            try await repository.setRateLimit(scope: .user("r"), tpm: nil, rpm: 3)
            for index in 0..<3 {
                let tokens = [0, 1, 50_000][index]
                let reservation = try await repository.reserve(
                    user: "r", callID: "r\(index)", tokens: tokens, at: testInstant)
                #expect(reservation.status == .admitted)
            }
            for _ in 0..<2 {
                let check = try await repository.check(user: "r", tokens: 0, at: testInstant)
                #expect(!check.allowed && check.deniedBy == .rpm && check.windowRequests == 3)
                #expect((check.retryAfterMilliseconds ?? 0) > 0)
            }
            let denied = try await repository.reserve(user: "r", callID: "r3", tokens: 0, at: testInstant)
            #expect(denied.status == .denied && denied.decision.deniedBy == .rpm && denied.decision.rpm == 3)
            #expect((denied.decision.retryAfterMilliseconds ?? 0) > 0)
            #expect(try await rateWindow(repository, .user("r")).count == 3)
        }
    }

    @Test("a request larger than the tpm limit never fits: denied with retry_after_ms null")
    func neverFits() async throws {
        try await withRepository { repository async throws in
            try await repository.setRateLimit(scope: .user("n"), tpm: 100, rpm: nil)
            let denied = try await repository.reserve(user: "n", callID: "big", tokens: 101, at: testInstant)
            #expect(denied.status == .denied && denied.decision.deniedBy == .tpm)
            #expect(denied.decision.retryAfterMilliseconds == nil && denied.decision.rateNeverFits)
            #expect(denied.decision.denialReason?.contains("never admits") == true)
            #expect(
                try await repository.reserve(user: "n", callID: "fits", tokens: 100, at: testInstant).status
                    == .admitted)
        }
    }

    @Test("a team's tpm limit denies a second user of the team; the user's hold and charge are released")
    func teamLimit() async throws {
        try await withRepository { repository async throws in
            _ = try await repository.setMembership(user: "u1", team: "t", org: nil)
            _ = try await repository.setMembership(user: "u2", team: "t", org: nil)
            try await repository.setRateLimit(scope: .team("t"), tpm: 1000, rpm: nil)
            try await repository.setRateLimit(scope: .user("u2"), tpm: 5000, rpm: nil)
            #expect(
                try await repository.reserve(user: "u1", callID: "c", tokens: 800, at: testInstant).status == .admitted)
            let denied = try await repository.reserve(user: "u2", callID: "c", tokens: 500, at: testInstant)
            #expect(denied.status == .denied && denied.decision.deniedScope == "team:t")
            #expect(denied.decision.deniedBy == .tpm && (denied.decision.retryAfterMilliseconds ?? 0) > 0)
            #expect(denied.decision.denialReason?.hasPrefix("team:t: the rate limit (tpm)") == true)
            // Nothing held for u2 anywhere: no lease, no charge in its own window.
            #expect(try await repository.usage(user: "u2", at: testInstant).reserved == 0)
            #expect(try await repository.usage(scope: .team("t"), at: testInstant).reserved == 800)
            #expect(try await rateWindow(repository, .user("u2")).isEmpty)
            #expect(try await rateWindow(repository, .team("t")).values.map(\.1) == [800])
            // A check by u2 names the team too.
            let check = try await repository.check(user: "u2", tokens: 500, at: testInstant)
            #expect(!check.allowed && check.deniedScope == "team:t" && check.deniedBy == .tpm)
            // u1's settle corrects the team's window (booked under the scoped call id).
            _ = try await repository.settle(
                user: "u1", callID: "c", usage: UsageRecord(inputTokens: 100, outputTokens: 0), at: testInstant)
            #expect(try await rateWindow(repository, .team("t")).values.map(\.1) == [100])
            #expect(
                try await repository.reserve(user: "u2", callID: "c", tokens: 500, at: testInstant).status == .admitted)
        }
    }

    @Test("a record without a reservation is charged when it happens, once; a limit set later sees only later charges")
    func recordIsCharged() async throws {
        try await withRepository { repository async throws in
            let usage = UsageRecord(inputTokens: 500, outputTokens: 200)
            _ = try await repository.record(user: "w", callID: "before", usage: usage, at: testInstant)
            try await repository.setRateLimit(scope: .user("w"), tpm: 1000, rpm: 10)
            #expect(try await repository.check(user: "w", at: testInstant).windowTokens == 0)
            #expect(try await repository.record(user: "w", callID: "r1", usage: usage, at: testInstant).applied)
            #expect(!(try await repository.record(user: "w", callID: "r1", usage: usage, at: testInstant).applied))
            let check = try await repository.check(user: "w", tokens: 301, at: testInstant)
            #expect(!check.allowed && check.deniedBy == .tpm && check.windowTokens == 700 && check.windowRequests == 1)
            #expect(try await repository.check(user: "w", tokens: 300, at: testInstant).allowed)
            // A settle without a lease is charged as a record.
            _ = try await repository.settle(
                user: "w", callID: "s1", usage: UsageRecord(inputTokens: 100, outputTokens: 0), at: testInstant)
            #expect(try await repository.check(user: "w", at: testInstant).windowTokens == 800)
        }
    }

    @Test("a scope without a rate limit leaves no rate keys; a default applies to users, never to groups")
    func noLimitNoKeys() async throws {
        try await withRepository { repository async throws in
            _ = try await repository.setMembership(user: "plain", team: "pt", org: nil)
            let usage = UsageRecord(inputTokens: 10, outputTokens: 5)
            #expect(
                try await repository.reserve(user: "plain", callID: "a", tokens: 50, at: testInstant).status
                    == .admitted)
            _ = try await repository.settle(user: "plain", callID: "a", usage: usage, at: testInstant)
            #expect(
                try await repository.reserve(user: "plain", callID: "b", tokens: 50, at: testInstant).status
                    == .admitted)
            _ = try await repository.releaseLease(user: "plain", callID: "b")
            _ = try await repository.record(user: "plain", callID: "c", usage: usage, at: testInstant)
            let check = try await repository.check(user: "plain", tokens: 10, at: testInstant)
            #expect(check.allowed && check.tpm == nil && check.rpm == nil && check.windowTokens == 0)
            #expect(try await !hasRateKeys(repository, .user("plain")))
            #expect(try await !hasRateKeys(repository, .team("pt")))

            try await repository.setDefaultRateLimit(tpm: 100, rpm: nil)
            let limited = try await repository.reserve(user: "plain", callID: "d", tokens: 60, at: testInstant)
            #expect(limited.status == .admitted && limited.decision.tpm == 100)
            #expect(try await hasRateKeys(repository, .user("plain")))
            #expect(try await !hasRateKeys(repository, .team("pt")))
            #expect(try await repository.rateLimits(scope: .user("plain")).effectiveTPM == 100)
            #expect(try await repository.rateLimits(scope: .team("pt")).effectiveTPM == nil)
            #expect(
                try await repository.reserve(user: "plain", callID: "e", tokens: 60, at: testInstant).status == .denied)
            try await repository.setDefaultRateLimit(tpm: nil, rpm: nil, clear: true)
            #expect(
                try await repository.reserve(user: "plain", callID: "e", tokens: 60, at: testInstant).status
                    == .admitted)
        }
    }

    @Test("rate limits are validated (the error names the field) and set, read and cleared per scope")
    func setGetClear() async throws {
        try await withRepository { repository async throws in
            for (tpm, rpm, field) in [(0, nil, "tpm"), (nil, -1, "rpm"), (1_000_000_000_001, nil, "tpm")]
                as [(Int?, Int?, String)]
            {
                let error = await #expect(throws: ValidationError.self) {
                    try await repository.setRateLimit(scope: .user("v"), tpm: tpm, rpm: rpm)
                }
                #expect(error?.field == field && error?.code == .invalidLimit)
            }
            #expect(
                try await repository.rateLimits(scope: .user("v"))
                    == RateLimits(
                        scope: "user:v", tpm: nil, rpm: nil, defaultTPM: nil, defaultRPM: nil))
            var limits = try await repository.setRateLimit(scope: .org("o"), tpm: 5000, rpm: nil)
            #expect(limits.tpm == 5000 && limits.rpm == nil && limits.scope == "org:o")
            limits = try await repository.setRateLimit(scope: .org("o"), tpm: nil, rpm: 7)
            #expect(limits.tpm == 5000 && limits.rpm == 7)
            limits = try await repository.clearRateLimit(scope: .org("o"))
            #expect(limits.tpm == nil && limits.rpm == nil)
        }
    }

    @Test("QuotaGuard's QuotaExceededError carries the rate denial and its retry-after")
    func guardSurfacesRetryAfter() async throws {
        try await withRepository { repository async throws in
            try await repository.setRateLimit(scope: .user("g"), tpm: nil, rpm: 1)
            #expect(
                try await repository.reserve(user: "g", callID: "first", tokens: 1, at: testInstant).status == .admitted
            )
            let guarded = QuotaGuard(repository: repository, counting: .heuristic)
            let error = await #expect(throws: QuotaExceededError.self) {
                _ = try await guarded.run(
                    context: LLMCallContext(runID: "second", user: "g"),
                    messages: [ChatMessage(role: "user", content: "hello")], maxOutputTokens: 10
                ) { () async throws -> (result: String, usage: UsageRecord) in
                    Issue.record("the model was called despite the denial")
                    return ("", UsageRecord(inputTokens: 0, outputTokens: 0))
                }
            }
            #expect(error?.decision.deniedBy == .rpm && error?.retryAfter != nil)
            #expect(error?.description.contains("rate limit (rpm)") == true)
        }
    }

    @Test(
        "a release after the settle keeps the call's charge; a record of a reserved call sets its charge, not adds to it"
    )
    func chargesOncePerCall() async throws {
        try await withRepository { repository async throws in
            try await repository.setRateLimit(scope: .user("q"), tpm: 1000, rpm: nil)
            #expect(
                try await repository.reserve(user: "q", callID: "a", tokens: 500, at: testInstant).status == .admitted)
            _ = try await repository.settle(
                user: "q", callID: "a", usage: UsageRecord(inputTokens: 100, outputTokens: 50), at: testInstant)
            _ = try await repository.releaseLease(user: "q", callID: "a")
            #expect(
                try await repository.check(user: "q", at: testInstant).windowTokens == 150, "the release emptied it")
            // Record (not settle) a call that holds a reservation: its entry becomes the actual tokens.
            #expect(
                try await repository.reserve(user: "q", callID: "b", tokens: 500, at: testInstant).status == .admitted)
            _ = try await repository.record(
                user: "q", callID: "b", usage: UsageRecord(inputTokens: 200, outputTokens: 100), at: testInstant)
            #expect(try await rateWindow(repository, .user("q"))["b"]?.1 == 300)
            #expect(try await repository.check(user: "q", at: testInstant).windowTokens == 450)
        }
    }
}

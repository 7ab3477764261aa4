import Foundation
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

/// Currency limits and reservations in nano-USD (issue 17): the limit compares the cycle's recorded
/// spend (`cost_nano`) plus the live leases' cost with `limit_usd_nano`, in the same script as tokens.
@Suite("Quota: currency limits and reservations in currency")
struct CurrencyQuotaTests {
    static let threeCents = Cost(nanoUSD: 30_000_000)

    @Test("1,000 concurrent reservations of $0.03 against a $10 limit admit exactly 333, each denial naming usd")
    func concurrentCurrencyReservations() async throws {
        try await withRepository { repository async throws in
            try await Self.admitsExactlyTheAffordable(repository, user: "spender")
        }
    }

    @Test("the same 1,000 concurrent currency reservations on a Redis Cluster admit exactly 333")
    func concurrentCurrencyReservationsOnACluster() async throws {
        let cluster = try await RedisTestCluster.shared()
        let pool = RedisConnectionPool(
            configuration: try RedisConfiguration(url: cluster.seedURL),
            options: .init(maximumConnections: 8, waitTimeout: .seconds(300)))
        do {
            let repository = try TokenRepository(
                pool: pool,
                configuration: try LedgerConfiguration(namespace: uniqueNamespace("cusd"), settingsCacheTTL: .zero))
            try await Self.admitsExactlyTheAffordable(repository, user: "cluster-spender")
            await pool.close()
        } catch {
            await pool.close()
            throw error
        }
    }

    static func admitsExactlyTheAffordable(_ repository: TokenRepository, user: String) async throws {
        try await repository.setCurrencyLimit(user: user, usd: try Cost(parsing: "10"))
        let results = try await withThrowingTaskGroup(of: Reservation.self) { group in
            for index in 0..<1000 {
                group.addTask {
                    try await repository.reserve(
                        user: user, callID: "c\(index)", tokens: 100, cost: threeCents, at: testInstant)
                }
            }
            var all: [Reservation] = []
            for try await reservation in group { all.append(reservation) }
            return all
        }
        #expect(results.filter { $0.status == .admitted }.count == 333)
        let denied = results.filter { $0.status == .denied }
        #expect(denied.count == 667)
        #expect(denied.allSatisfy { $0.decision.deniedBy == .usd && !$0.decision.allowed })
        let check = try await repository.check(user: user, at: testInstant)
        #expect(check.reservedCost.nanoUSD == 333 * 30_000_000)
        #expect(check.reserved == 33_300)
        #expect(check.remainingUSD == Cost(nanoUSD: 10_000_000))
        #expect(check.limitUSD?.description == "10.000000000")
    }

    @Test(
        "both limits in one decision: fits tokens but not dollars is denied naming usd, and the reverse naming tokens")
    func bothLimitsAtomic() async throws {
        try await withRepository { repository async throws in
            try await repository.setLimit(user: "both", tokens: 1000)
            try await repository.setCurrencyLimit(user: "both", usd: try Cost(parsing: "1"))
            let tooDear = try await repository.reserve(
                user: "both", callID: "dear", tokens: 500, cost: try Cost(parsing: "1.000000001"), at: testInstant)
            #expect(tooDear.status == .denied && tooDear.decision.deniedBy == .usd)
            let tooLong = try await repository.reserve(
                user: "both", callID: "long", tokens: 1001, cost: try Cost(parsing: "0.01"), at: testInstant)
            #expect(tooLong.status == .denied && tooLong.decision.deniedBy == .tokens)
            // Nothing is held by either denial.
            var check = try await repository.check(user: "both", at: testInstant)
            #expect(check.reserved == 0 && check.reservedCost == .zero)
            // Exactly at both limits is admitted; one nano-USD more is not.
            let exact = try await repository.reserve(
                user: "both", callID: "exact", tokens: 1000, cost: try Cost(parsing: "1"), at: testInstant)
            #expect(exact.status == .admitted && exact.decision.deniedBy == nil)
            check = try await repository.check(user: "both", tokens: 0, cost: Cost(nanoUSD: 1), at: testInstant)
            #expect(!check.allowed && check.deniedBy == .usd)
            #expect(check.denialReason?.contains("currency limit (usd)") == true)
        }
    }

    @Test("a reservation that would carry the reserved tokens past 2^53 - 1 is OVERFLOW and writes nothing")
    func reservedTokensOverflow() async throws {
        try await withRepository { repository async throws in
            let keys = try repository.keys.user("huge")
            // What 9,008 reservations of 10^12 tokens by a user without a token limit would leave.
            _ = try await repository.pool.send(SET(keys.reserved, value: "9007199254740990"))
            await #expect(throws: LedgerError.self) {
                _ = try await repository.reserve(user: "huge", callID: "one-more", tokens: 10, at: testInstant)
            }
            do {
                _ = try await repository.reserve(user: "huge", callID: "one-more", tokens: 10, at: testInstant)
            } catch let error as LedgerError {
                #expect(error.code == .overflow, "\(error)")
            }
            #expect(try await repository.pool.send(GET(keys.reserved)) == "9007199254740990")
            #expect(try await repository.pool.send(HGET(keys.leases, field: "one-more")) == nil)
            // Releases of the user keep working (the counter never passed 2^53 - 1): no lease to drop.
            #expect(try await repository.release(user: "huge", callID: "one-more") == 0)
        }
    }

    @Test(
        "the cycle's recorded spend (cost_nano) counts against the currency limit, and a default currency limit applies"
    )
    func spendCounts() async throws {
        try await withRepository { repository async throws in
            try await repository.setDefaultCurrencyLimit(try Cost(parsing: "1"))
            let cycle = try await repository.check(user: "spent", at: testInstant).cycle
            // What money's record path stores: the sum of the cycle's priced events, integer nano-USD.
            let cycleKey = try repository.keys.user("spent").cycle(cycle)
            _ = try await repository.pool.send(HSET(cycleKey, fields: [("cost_nano", "990000000")]))
            let usage = try await repository.usage(user: "spent", at: testInstant)
            #expect(usage.limitUSD?.description == "1.000000000")
            #expect(usage.remainingUSD?.description == "0.010000000")
            let denied = try await repository.reserve(
                user: "spent", callID: "a", tokens: 1, cost: try Cost(parsing: "0.02"), at: testInstant)
            #expect(denied.status == .denied && denied.decision.deniedBy == .usd)
            #expect(denied.decision.usedCost.description == "0.990000000")
            let fits = try await repository.reserve(
                user: "spent", callID: "b", tokens: 1, cost: try Cost(parsing: "0.01"), at: testInstant)
            #expect(fits.status == .admitted)
            let after = try await repository.usage(user: "spent", at: testInstant)
            #expect(after.reservedUSD.description == "0.010000000" && after.remainingUSD == .zero)
            // The user's own limit wins over the default.
            try await repository.setCurrencyLimit(user: "spent", usd: try Cost(parsing: "2"))
            #expect(try await repository.currencyLimit(user: "spent").own?.description == "2.000000000")
            #expect(
                try await repository.reserve(
                    user: "spent", callID: "c", tokens: 1, cost: try Cost(parsing: "0.5"), at: testInstant
                ).status == .admitted)
            try await repository.clearCurrencyLimit(user: "spent")
            try await repository.setDefaultCurrencyLimit(nil)
            let unlimited = try await repository.check(user: "spent", cost: try Cost(parsing: "1000"), at: testInstant)
            #expect(unlimited.allowed && unlimited.limitUSD == nil && unlimited.remainingUSD == nil)
        }
    }

    @Test("release and settle drop a lease's cost; an expired lease's cost is reclaimed")
    func releaseSettleAndExpiry() async throws {
        try await withRepository { repository async throws in
            try await repository.setCurrencyLimit(user: "drop", usd: try Cost(parsing: "1"))
            let half = try Cost(parsing: "0.5")
            #expect(
                try await repository.reserve(user: "drop", callID: "r", tokens: 10, cost: half, at: testInstant).status
                    == .admitted)
            let released = try await repository.releaseLease(user: "drop", callID: "r")
            #expect(released.tokens == 10 && released.cost == half)
            #expect(try await repository.check(user: "drop", at: testInstant).reservedCost == .zero)

            #expect(
                try await repository.reserve(user: "drop", callID: "s", tokens: 10, cost: half, at: testInstant).status
                    == .admitted)
            let settled = try await repository.settle(
                user: "drop", callID: "s", usage: UsageRecord(inputTokens: 4, outputTokens: 3), at: testInstant)
            #expect(settled.applied && settled.releasedTokens == 10)
            #expect(try await repository.check(user: "drop", at: testInstant).reservedCost == .zero)

            // A lease of 1 ms expires by itself: the next script that reclaims drops its cost too.
            #expect(
                try await repository.reserve(
                    user: "drop", callID: "x", tokens: 10, cost: try Cost(parsing: "0.9"), ttl: .milliseconds(1),
                    at: testInstant
                ).status == .admitted)
            let reclaimed = try await waitUntil {
                try await repository.check(user: "drop", at: testInstant).reservedCost == .zero
            }
            #expect(reclaimed)
            let next = try await repository.reserve(
                user: "drop", callID: "y", tokens: 10, cost: try Cost(parsing: "0.9"), at: testInstant)
            #expect(next.status == .admitted && next.decision.reservedCost.description == "0.900000000")
            let keys = try repository.keys.user("drop")
            #expect(try await repository.pool.send(GET(keys.reservedCost)) == "900000000")
            #expect(try await repository.pool.send(HGET(keys.leaseCosts, field: "x")) == nil)
        }
    }

    @Test("a retry with the same amounts is held; the same tokens with another cost is a conflict naming usd")
    func idempotency() async throws {
        try await withRepository { repository async throws in
            let cost = try Cost(parsing: "0.25")
            #expect(
                try await repository.reserve(user: "i", callID: "k", tokens: 5, cost: cost, at: testInstant).status
                    == .admitted)
            #expect(
                try await repository.reserve(user: "i", callID: "k", tokens: 5, cost: cost, at: testInstant).status
                    == .held)
            await #expect(throws: ValidationError.self) {
                _ = try await repository.reserve(
                    user: "i", callID: "k", tokens: 5, cost: try Cost(parsing: "0.26"), at: testInstant)
            }
            do {
                _ = try await repository.reserve(user: "i", callID: "k", tokens: 5, at: testInstant)
                Issue.record("a retry without the cost was not a conflict")
            } catch let error as ValidationError {
                #expect(error.code == .reservationConflict && error.field == "usd")
                #expect(error.message.contains("0.250000000 USD"))
            }
            #expect(try await repository.check(user: "i", at: testInstant).reservedCost == cost)
        }
    }

    @Test("a lease written before currency reservations (no cost) is released and settled as costing nothing")
    func leaseWithoutCost() async throws {
        try await withRepository { repository async throws in
            let keys = try repository.keys.user("old")
            _ = try await repository.pool.send(HSET(keys.leases, fields: [("legacy", "40")]))
            _ = try await repository.pool.send(SET(keys.reserved, value: "40"))
            let check = try await repository.check(user: "old", at: testInstant)
            #expect(check.reserved == 40 && check.reservedCost == .zero)
            #expect(
                try await repository.reserve(user: "old", callID: "legacy", tokens: 40, at: testInstant).status == .held
            )
            let released = try await repository.releaseLease(user: "old", callID: "legacy")
            #expect(released.tokens == 40 && released.cost == .zero)
        }
    }

    @Test("currency soft thresholds fire once each per cycle from reservations, with limit_kind usd")
    func currencyThresholds() async throws {
        try await withRepository(thresholds: [50, 80]) { repository async throws in
            try await repository.setCurrencyLimit(user: "t", usd: try Cost(parsing: "1"))
            let cycle = try await repository.check(user: "t", at: testInstant).cycle
            let cycleKey = try repository.keys.user("t").cycle(cycle)
            _ = try await repository.pool.send(HSET(cycleKey, fields: [("cost_nano", "850000000")]))
            for index in 0..<3 {
                _ = try await repository.reserve(
                    user: "t", callID: "t\(index)", tokens: 1, cost: Cost(nanoUSD: 1), at: testInstant)
            }
            let events = try await repository.events(user: "t").filter { $0["limit_kind"] == "usd" }
            #expect(events.map { $0["threshold"] } == ["50", "80"])
            #expect(events.allSatisfy { $0["used"] == "850000000" && $0["limit"] == "1000000000" })
            let marks = try await repository.pool.send(
                HMGET(cycleKey, fields: ["threshold:usd:50", "threshold:usd:80"]))
            #expect(marks["threshold:usd:50"] == "850000000" && marks["threshold:usd:80"] == "850000000")
        }
    }

    @Test("currency soft thresholds fire from records and settles too, on the spend each event brought, once each")
    func currencyThresholdsFromRecords() async throws {
        try await withRepository(thresholds: [50, 80]) { repository async throws in
            // 1,000 USD per million tokens: a token costs 1,000,000 nano-USD, so tokens read as spend.
            let store = try PriceStore(pool: repository.pool, namespace: repository.keys.namespace)
            let rate = try PriceRate(usdPerMillionTokens: "1000", field: "rate")
            try await store.set(model: "house", price: ModelPrice(input: rate, output: rate))
            try await repository.setCurrencyLimit(user: "r", usd: try Cost(parsing: "1"))
            func usdEvents(_ user: String) async throws -> [[String: String]] {
                try await repository.events(user: user).filter { $0["limit_kind"] == "usd" }
            }
            func record(_ user: String, _ callID: String, _ input: Int, _ output: Int) async throws {
                _ = try await repository.record(
                    user: user, callID: callID, usage: UsageRecord(inputTokens: input, outputTokens: output),
                    model: "house", at: testInstant)
            }
            try await record("r", "a", 300, 100)  // $0.40: below 50 %
            #expect(try await usdEvents("r").isEmpty)
            try await record("r", "b", 100, 50)  // $0.55: 50 %
            try await record("r", "b", 100, 50)  // a retry: no spend, no event
            // A settle brings it to $0.85: 80 %.
            _ = try await repository.reserve(user: "r", callID: "c", tokens: 10, at: testInstant)
            _ = try await repository.settle(
                user: "r", callID: "c", usage: UsageRecord(inputTokens: 200, outputTokens: 100), model: "house",
                at: testInstant)
            try await record("r", "d", 1, 0)  // $0.851: both already fired
            let events = try await usdEvents("r")
            #expect(events.map { $0["threshold"] } == ["50", "80"], "\(events)")
            #expect(events.map { $0["used"] } == ["550000000", "850000000"])
            #expect(events.allSatisfy { $0["limit"] == "1000000000" && $0["user"] == "r" })

            // A user without a currency limit of their own: the default one applies.
            try await repository.setDefaultCurrencyLimit(try Cost(parsing: "0.5"))
            try await record("d", "x", 250, 0)  // $0.25 of $0.50: 50 %
            #expect(try await usdEvents("d").map { $0["threshold"] } == ["50"])
            #expect(try await usdEvents("d").first?["limit"] == "500000000")
        }
    }

    @Test(
        "a currency limit is refused, naming usd, when negative, too precise, not a number or beyond 2^53 - 1 nano-USD")
    func badCurrencyLimits() async throws {
        try await withRepository { repository async throws in
            for bad in ["-1", "0.0000000001", "ten", "9007199.254740992", ""] {
                #expect(throws: ValidationError.self) { _ = try Validation.parseCurrencyAmount(bad, field: "usd") }
            }
            await #expect(throws: ValidationError.self) {
                try await repository.setCurrencyLimit(user: "bad", usd: Cost(nanoUSD: -1))
            }
            await #expect(throws: ValidationError.self) {
                try await repository.setCurrencyLimit(user: "bad", usd: Cost(nanoUSD: Validation.maximumLimit + 1))
            }
            #expect(try await repository.currencyLimit(user: "bad").own == nil)
        }
    }

    @Test("estimateCost prices N input and K output tokens at the model's tier; an unpriced model has no cost")
    func estimate() async throws {
        try await withRepository { repository async throws in
            let store = try PriceStore(pool: repository.pool, namespace: repository.keys.namespace)
            try await store.set(
                model: "est-model",
                price: try ModelPrice(
                    input: try PriceRate(usdPerMillionTokens: "3", field: "input"),
                    output: try PriceRate(usdPerMillionTokens: "15", field: "output")))
            // 1,000 × 3 + 2,000 × 15 per million = 0.003 + 0.03.
            let cost = try await repository.estimateCost(model: "est-model", inputTokens: 1000, maxOutputTokens: 2000)
            #expect(cost?.description == "0.033000000")
            #expect(try await repository.estimateCost(model: "no-such-model-xyz", inputTokens: 1000) == nil)
        }
    }

    @Test(
        "QuotaGuard prices its estimate (prompt as input, maxOutputTokens as output): a dollar limit refuses before the call"
    )
    func guardPricesItsEstimate() async throws {
        try await withRepository { repository async throws in
            let store = try PriceStore(pool: repository.pool, namespace: repository.keys.namespace)
            try await store.set(
                model: "guarded-model",
                price: try ModelPrice(
                    input: try PriceRate(usdPerMillionTokens: "1", field: "input"),
                    output: try PriceRate(usdPerMillionTokens: "1000", field: "output")))
            // 100,000 output tokens at $1,000 per million = $100 (plus the prompt's few input tokens).
            try await repository.setCurrencyLimit(user: "g", usd: try Cost(parsing: "50"))
            let guardian = QuotaGuard(repository: repository, counting: .heuristic)
            let expected = try await guardian.estimateCost(
                model: "guarded-model", inputTokens: 10, maxOutputTokens: 100_000)
            #expect(expected.description == "100.000010000")
            let called = Flag()
            await #expect {
                _ = try await guardian.run(
                    context: LLMCallContext(runID: "dear", user: "g", model: "guarded-model"),
                    messages: [ChatMessage(role: "user", content: "hi")], maxOutputTokens: 100_000
                ) {
                    called.set()
                    return ("never", UsageRecord(inputTokens: 1, outputTokens: 1))
                }
            } throws: { error in
                let error = try #require(error as? QuotaExceededError)
                return error.decision.deniedBy == .usd && error.description.contains("currency limit")
            }
            #expect(!called.isSet)
            // A smaller maximum output fits: the lease holds its priced cost while the call runs.
            let held = try await guardian.run(
                context: LLMCallContext(runID: "cheap", user: "g", model: "guarded-model"),
                messages: [ChatMessage(role: "user", content: "hi")], maxOutputTokens: 1000
            ) { (try await repository.check(user: "g").reservedCost, UsageRecord(inputTokens: 3, outputTokens: 7)) }
            #expect(held.nanoUSD > 1_000_000_000 && held.nanoUSD < 1_010_000_000)
            #expect(try await repository.check(user: "g").reservedCost == .zero)
        }
    }
}

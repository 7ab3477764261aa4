import Foundation
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

private func usd(_ text: String) throws -> PriceRate { try PriceRate(usdPerMillionTokens: text, field: "rate") }

/// Sets a price override in the repository's namespace.
private func setPrice(
    _ repository: TokenRepository, _ model: String, input: String, output: String, cachedInput: String? = nil
) async throws {
    let store = try PriceStore(pool: repository.pool, namespace: repository.keys.namespace)
    try await store.set(
        model: model,
        price: try ModelPrice(input: try usd(input), output: try usd(output), cachedInput: try cachedInput.map(usd)))
}

/// Every event is priced once when it is built and its cost lands in the cycle hash in the same
/// script as its tokens (issue 17, "Tests"): each amount below is computed by hand from the default
/// price file's rates (docs/cost.md) or the overrides the test sets, never by the code under test.
@Suite("Cost: recorded with each event")
struct CostRecordingTests {
    @Test("the hand-computed table: each event's nano-USD, and the cycle's sum read back through usage")
    func handComputedTable() async throws {
        try await withRepository { repository async throws in
            let user = "cost-table"
            var number = 0
            func record(_ usage: UsageRecord, _ model: String) async throws -> RecordResult {
                number += 1
                return try await repository.record(
                    user: user, callID: "call-\(number)", usage: usage, model: model, at: testInstant)
            }
            // OpenAI with cached input, a dated snapshot priced by gpt-4o (2.5 / cached 1.25 / 10):
            // 210 × 2.5 + 1,024 × 1.25 + 321 × 10 = 5,015 USD per million tokens.
            let openAI = try await record(
                UsageRecord(inputTokens: 1_234, outputTokens: 321, cachedInputTokens: 1_024), "gpt-4o-2024-08-06")
            #expect(openAI.cost == .priced(Cost(nanoUSD: 5_015_000)))
            // Anthropic with cache reads and 5-minute and 1-hour writes (claude-sonnet-4-5: 3 / 0.3 /
            // 3.75 / 6 / 15): 512 × 3 + 15,000 × 0.3 + 1,200 × 3.75 + 2,800 × 6 + 900 × 15 = 40,836.
            let anthropic = try await record(
                UsageRecord(
                    inputTokens: 19_512, outputTokens: 900, cachedInputTokens: 15_000, cacheWriteTokens: 4_000,
                    cacheWrite1hTokens: 2_800), "claude-sonnet-4-5")
            #expect(anthropic.cost == .priced(Cost(nanoUSD: 40_836_000)))
            // Gemini 2.5 Pro above its 200k tier (the whole request at 2.5 / cached 0.25 / 15):
            // 200,000 × 2.5 + 50,000 × 0.25 + 2,000 × 15 = 542,500.
            let gemini = try await record(
                UsageRecord(inputTokens: 250_000, outputTokens: 2_000, cachedInputTokens: 50_000), "gemini-2.5-pro")
            #expect(gemini.cost == .priced(Cost(nanoUSD: 542_500_000)))
            // A reasoning model (o3: 2 / 8): reasoning is inside the output, never added:
            // 1,000 × 2 + 5,000 × 8 = 42,000.
            let reasoning = try await record(
                UsageRecord(inputTokens: 1_000, outputTokens: 5_000, reasoningTokens: 4_000), "o3")
            #expect(reasoning.cost == .priced(Cost(nanoUSD: 42_000_000)))
            // An unpriced model: recorded, no cost, counted.
            let unpriced = try await record(UsageRecord(inputTokens: 700, outputTokens: 70), "my-local-llama")
            #expect(unpriced.applied && unpriced.cost == .unpriced)
            // A price changed between two events of the same model (the tests' settings cache has no
            // TTL, so the second event is priced at the new rates): 1,000 × 1 + 1,000 × 2 = 3,000,
            // then 1,000 × 10 + 1,000 × 20 = 30,000.
            try await setPrice(repository, "house-model", input: "1", output: "2")
            let before = try await record(UsageRecord(inputTokens: 1_000, outputTokens: 1_000), "house-model")
            try await setPrice(repository, "house-model", input: "10", output: "20")
            let after = try await record(UsageRecord(inputTokens: 1_000, outputTokens: 1_000), "house-model")
            #expect(before.cost == .priced(Cost(nanoUSD: 3_000_000)))
            #expect(after.cost == .priced(Cost(nanoUSD: 30_000_000)))
            // A provider-reported cost (OpenRouter's usage.cost) is kept beside the computed one
            // (gpt-4o: 100 × 2.5 + 10 × 10 = 350).
            let reported = try await record(
                UsageRecord(inputTokens: 100, outputTokens: 10, reportedCost: try Cost(parsing: "0.000123456")),
                "gpt-4o")
            #expect(reported.cost == .priced(Cost(nanoUSD: 350_000)))

            // The cycle: 5,015,000 + 40,836,000 + 542,500,000 + 42,000,000 + 3,000,000 + 30,000,000
            // + 350,000 = 663,701,000 nano-USD; one unpriced call; the reported 123,456.
            let usage = try await repository.usage(user: user, at: testInstant)
            #expect(usage.money.cost == Cost(nanoUSD: 663_701_000))
            #expect(usage.money.unpricedCalls == 1)
            #expect(usage.money.reportedCost == Cost(nanoUSD: 123_456))
            // Per model, the primary (the first recorded) derived as the cycle minus the others.
            #expect(usage.models["gpt-4o-2024-08-06"]?.cost == Cost(nanoUSD: 5_015_000))
            #expect(usage.models["claude-sonnet-4-5"]?.cost == Cost(nanoUSD: 40_836_000))
            #expect(usage.models["house-model"]?.cost == Cost(nanoUSD: 33_000_000))
            #expect(usage.models["my-local-llama"]?.cost == .zero)
            #expect(usage.models["my-local-llama"]?.unpricedCalls == 1)
            #expect(usage.models["gpt-4o"]?.cost == Cost(nanoUSD: 350_000))

            // A duplicate adds nothing, and the JSON shows the nine-decimal strings.
            let again = try await repository.record(
                user: user, callID: "call-1",
                usage: UsageRecord(
                    inputTokens: 1_234, outputTokens: 321,
                    cachedInputTokens: 1_024), model: "gpt-4o-2024-08-06", at: testInstant)
            #expect(!again.applied)
            let json = String(
                decoding: try Self.encoder.encode(try await repository.usage(user: user, at: testInstant)),
                as: UTF8.self)
            #expect(json.contains(#""cost_usd":"0.663701000""#), "\(json)")
            #expect(json.contains(#""reported_cost_usd":"0.000123456""#) && json.contains(#""unpriced_calls":1"#))
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    @Test("a cycle without any cost field (written before events were priced) shows cost_usd null")
    func legacyCycleHasNoCost() async throws {
        try await withRepository { repository async throws in
            let keys = try repository.keys.user("old-user")
            let cycle = try await repository.usage(user: "old-user", at: testInstant).cycle
            _ = try await repository.pool.send(
                HSET(keys.cycle(cycle), fields: [("input_tokens", "10"), ("output_tokens", "5"), ("calls", "1")]))
            let usage = try await repository.usage(user: "old-user", at: testInstant)
            #expect(usage.totalTokens == 15 && usage.money.cost == nil && usage.money.reportedCost == nil)
            let json = String(decoding: try Self.encoder.encode(usage), as: UTF8.self)
            #expect(json.contains(#""cost_usd":null"#) && json.contains(#""reported_cost_usd":null"#), "\(json)")
        }
    }

    @Test("a cost that would take the cycle past 2^53 - 1 nano-USD is refused before any write")
    func costOverflow() async throws {
        try await withRepository { repository async throws in
            try await setPrice(repository, "dear-model", input: "1", output: "1")
            let first = try await repository.record(
                user: "rich", callID: "c1", usage: UsageRecord(inputTokens: 1_000, outputTokens: 0),
                model: "dear-model", at: testInstant)
            let keys = try repository.keys.user("rich")
            _ = try await repository.pool.send(
                HSET(keys.cycle(first.cycle), fields: [("cost_nano", "9007199254000000")]))
            // 1,000,000 tokens at $1 per million = 1,000,000,000 nano-USD: past the bound.
            await #expect {
                try await repository.record(
                    user: "rich", callID: "c2", usage: UsageRecord(inputTokens: 1_000_000, outputTokens: 0),
                    model: "dear-model", at: testInstant)
            } throws: { error in
                (error as? LedgerError)?.code == .overflow
                    && (error as? LedgerError)?.message.contains("nano-USD") == true
            }
            let usage = try await repository.usage(user: "rich", at: testInstant)
            #expect(usage.calls == 1 && usage.inputTokens == 1_000)
            #expect(usage.money.cost == Cost(nanoUSD: 9_007_199_254_000_000))
        }
    }

    @Test(
        "property: the cycle's cost is the sum of what each record reported, and within one nano per event of pricing the summed counts"
    )
    func randomRecords() async throws {
        try await withRepository { repository async throws in
            // $0.0015 per million tokens: 1 token costs 1.5 nano-USD, so every event rounds.
            try await setPrice(repository, "round-model", input: "0.0015", output: "0.0035")
            let price = try ModelPrice(input: try usd("0.0015"), output: try usd("0.0035"))
            var generator = SplitMix64(seed: 17)
            var sumOfEvents = 0
            var totalInput = 0
            var totalOutput = 0
            let events = 60
            for index in 0..<events {
                let input = Int.random(in: 0...5_000, using: &generator)
                let output = Int.random(in: 0...5_000, using: &generator)
                let usage = UsageRecord(inputTokens: input, outputTokens: output)
                let result = try await repository.record(
                    user: "prop", callID: "p\(index)", usage: usage, model: "round-model", at: testInstant)
                let cost = try #require(result.cost?.cost)
                #expect(cost == (try price.cost(of: usage)))
                sumOfEvents += cost.nanoUSD
                totalInput += input
                totalOutput += output
            }
            let cycle = try #require(try await repository.usage(user: "prop", at: testInstant).money.cost)
            #expect(cycle.nanoUSD == sumOfEvents)
            // Pricing the summed counts once differs from the sum of per-event roundings by at most
            // half a nano-USD per event.
            let whole = try price.cost(of: UsageRecord(inputTokens: totalInput, outputTokens: totalOutput))
            #expect(cycle.nanoUSD >= whole.nanoUSD - events && cycle.nanoUSD <= whole.nanoUSD + events)
        }
    }

    @Test("a spooled event carries the cost it was built with; an old line without one is priced at replay")
    func spoolReplayKeepsCost() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cost-spool-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try await withRepository { repository async throws in
            try await setPrice(repository, "replay-model", input: "1", output: "2")
            let namespace = repository.keys.namespace
            // A line as the spool wrote events before they carried their cost (no cost_usd).
            let old =
                #"{"at":1773662400000,"call_id":"old-1","model":"replay-model","namespace":"\#(namespace)","op":"record","provider":"","usage":{"cache_write_tokens":null,"cached_input_tokens":null,"input_tokens":1000,"output_tokens":1000,"reasoning_tokens":null,"source":"reported","total_tokens":2000},"user":"old-user"}"#
            try Data((old + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/segment-0000-old.jsonl"))
            let spool = try EventSpool(directory: directory)
            let recorder = UsageRecorder(
                repository: repository, spool: spool, options: .init(replaysInBackground: false))
            // Built (and priced: 1,000 × 1 + 1,000 × 2 = 3,000 per million) now, spooled as if Redis
            // had not taken it.
            let event = await recorder.priced(
                SpooledEvent(
                    operation: .record, user: "new-user", callID: "new-1",
                    usage: UsageRecord(inputTokens: 1_000, outputTokens: 1_000), model: "replay-model", at: testInstant,
                    namespace: namespace))
            #expect(event.cost == .priced(Cost(nanoUSD: 3_000_000)))
            try spool.append(event)
            // The price changes before the replay.
            try await setPrice(repository, "replay-model", input: "10", output: "20")
            let result = try await recorder.flush()
            #expect(result.applied == 2)
            await recorder.shutdown()
            // The spooled event costs what it cost when built; the old line is priced at replay.
            #expect(
                try await repository.usage(user: "new-user", at: testInstant).money.cost == Cost(nanoUSD: 3_000_000))
            #expect(
                try await repository.usage(user: "old-user", at: testInstant).money.cost == Cost(nanoUSD: 30_000_000))
        }
    }

    @Test("the recorder returns the event's cost, and a record without a price is counted as unpriced")
    func recorderOutcome() async throws {
        try await withRepository { repository async throws in
            let recorder = UsageRecorder(repository: repository)
            let outcome = await recorder.record(
                user: "r", callID: "r1", usage: UsageRecord(inputTokens: 1_000, outputTokens: 100), model: "gpt-4o",
                at: testInstant)
            guard case .applied(let result) = outcome else {
                Issue.record("not applied: \(outcome)")
                return
            }
            // 1,000 × 2.5 + 100 × 10 = 3,500 per million.
            #expect(result.cost == .priced(Cost(nanoUSD: 3_500_000)))
            let json = String(decoding: try Self.encoder.encode(result), as: UTF8.self)
            #expect(json.contains(#""cost_usd":"0.003500000""#), "\(json)")
            let unpriced = await recorder.record(
                user: "r", callID: "r2", usage: UsageRecord(inputTokens: 1, outputTokens: 1), model: "no-such-model",
                at: testInstant)
            guard case .applied(let second) = unpriced else {
                Issue.record("not applied: \(unpriced)")
                return
            }
            #expect(String(decoding: try Self.encoder.encode(second), as: UTF8.self).contains(#""cost_usd":null"#))
            await recorder.shutdown()
            let usage = try await repository.usage(user: "r", at: testInstant)
            #expect(usage.money.cost == Cost(nanoUSD: 3_500_000) && usage.money.unpricedCalls == 1)
        }
    }
}

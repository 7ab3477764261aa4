import Foundation
import RedisClient
import Testing

@testable import TokenLedger

/// The values that carry an event's cost (no server): the reported cost read from responses, the
/// rounding, the spooled event's `cost_usd`, and the cycle hash's money fields.
@Suite("Cost: values carried with events")
struct CostRecordValuesTests {
    @Test(
        "a decimal text rounds once, half away from zero, to nano-USD",
        arguments: [
            ("0.0000000015", 2), ("0.0000000014999", 1), ("0.0000000005", 1), ("0.0000000004", 0),
            ("3.96", 3_960_000_000),
            ("1.37825e-05", 13_783), ("0", 0), ("0.000000000000000000001", 0), ("2e3", 2_000_000_000_000),
        ])
    func rounding(text: String, nano: Int) {
        #expect(ExactDecimal.rounded(text, by: 9, maximum: Int.max) == .success(nano))
    }

    @Test("rounding refuses what is not an amount")
    func roundingRefusals() {
        #expect(ExactDecimal.rounded("-0.5", by: 9, maximum: Int.max) == .failure(.negative))
        #expect(ExactDecimal.rounded("abc", by: 9, maximum: Int.max) == .failure(.notANumber))
        #expect(ExactDecimal.rounded("10", by: 9, maximum: 9) == .failure(.tooLarge))
    }

    @Test(
        "OpenRouter's usage.cost and xAI's cost_in_usd_ticks become nano-USD; bad ones name their path and are dropped, never the usage"
    )
    func reportedCost() throws {
        func read(_ json: String) throws -> Cost? {
            let value = try JSONValue(parsing: Data(json.utf8))
            let usage = value.objectValue ?? [:]
            let path = JSONPath.root.appending("usage")
            if let cost = usage["cost"], !cost.isNull {
                return try ReportedCostReading.usd(cost, at: path.appending("cost"))
            }
            if let ticks = usage["cost_in_usd_ticks"], !ticks.isNull {
                return try ReportedCostReading.ticks(ticks, at: path.appending("cost_in_usd_ticks"))
            }
            return ReportedCostReading.read(usage, at: path)
        }
        #expect(try read(#"{"cost":0.0000137825}"#) == Cost(nanoUSD: 13_783))
        #expect(try read(#"{"cost":0.95}"#) == Cost(nanoUSD: 950_000_000))
        #expect(try read(#"{"cost":null}"#) == nil)
        #expect(try read(#"{}"#) == nil)
        // A tick is 10^-10 USD: 15 ticks = 1.5 nano-USD → 2; 14 → 1.
        #expect(try read(#"{"cost_in_usd_ticks":15}"#) == Cost(nanoUSD: 2))
        #expect(try read(#"{"cost_in_usd_ticks":14}"#) == Cost(nanoUSD: 1))
        #expect(try read(#"{"cost_in_usd_ticks":1491000}"#) == Cost(nanoUSD: 149_100))
        for bad in [#"{"cost":-1}"#, #"{"cost":"0.1"}"#, #"{"cost_in_usd_ticks":1.5}"#, #"{"cost_in_usd_ticks":-3}"#] {
            #expect(throws: ExtractionError.self) { try read(bad) }
            do {
                _ = try read(bad)
            } catch let error as ExtractionError {
                #expect(error.code == .invalidValue)
                #expect("\(error)".contains("usage.cost"), "\(error)")
            }
            let value = try JSONValue(parsing: Data(bad.utf8))
            #expect(ReportedCostReading.read(value.objectValue ?? [:], at: .root) == nil)
        }
        // Perplexity's usage.cost is an object: the call's tokens are still read.
        let perplexity =
            #"{"model":"sonar","usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,"#
            + #""cost":{"input_tokens_cost":0.00001,"total_cost":0.005}}}"#
        let record = try UsageExtractor.extract(from: Data(perplexity.utf8))
        #expect(record.inputTokens == 10 && record.outputTokens == 2 && record.reportedCost == nil)
    }

    @Test("extracted records carry the reported cost into their JSON, and leave it out when none is reported")
    func extractedJSON() throws {
        let body = #"{"model":"x","usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,"cost":0.00012}}"#
        let record = try UsageExtractor.extract(from: Data(body.utf8))
        #expect(record.reportedCost == Cost(nanoUSD: 120_000))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(
            String(decoding: try encoder.encode(record), as: UTF8.self).contains(#""reported_cost_usd":"0.000120000""#))
        let plain = try UsageExtractor.extract(
            from: Data(#"{"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}"#.utf8))
        #expect(!String(decoding: try encoder.encode(plain), as: UTF8.self).contains("reported_cost"))
    }

    @Test("a spooled event keeps its cost: a string when priced, null when unpriced, absent when not priced yet")
    func spooledEventCost() throws {
        let usage = UsageRecord(inputTokens: 10, outputTokens: 5)
        let at = Date(timeIntervalSince1970: 1_773_662_400)
        for (cost, fragment) in [
            (EventCost.priced(Cost(nanoUSD: 3_000_000)), #""cost_usd":"0.003000000""#),
            (EventCost.unpriced, #""cost_usd":null"#),
        ] {
            let event = SpooledEvent(
                operation: .record, user: "u", callID: "c", usage: usage, at: at, namespace: "tl", cost: cost)
            let line = String(decoding: try event.line(), as: UTF8.self)
            #expect(line.contains(fragment), "\(line)")
            #expect(try SpooledEvent.decode(line: Array(line.utf8).dropLast()) == event)
        }
        // A line written before events carried their cost: priced at replay.
        let old =
            #"{"at":1773662400000,"call_id":"c","model":"","namespace":"tl","op":"record","provider":"","usage":{"cache_write_tokens":null,"cached_input_tokens":null,"input_tokens":10,"output_tokens":5,"reasoning_tokens":null,"source":"reported","total_tokens":15},"user":"u"}"#
        let decoded = try SpooledEvent.decode(line: Array(old.utf8))
        #expect(decoded.cost == nil && decoded.usage == usage)
        #expect(!String(decoding: try decoded.line(), as: UTF8.self).contains("cost_usd"))
    }

    @Test("the script arguments: nano-USD, -1 when unpriced or not reported")
    func scriptArguments() throws {
        #expect(EventCost.priced(Cost(nanoUSD: 42)).scriptArgument == 42)
        #expect(EventCost.unpriced.scriptArgument == -1)
        #expect(throws: ValidationError.self) {
            try EventCost.check(Cost(nanoUSD: EventCost.maximumNanoUSD + 1), field: "reported_cost_usd")
        }
        #expect(throws: ValidationError.self) {
            try TokenRepository.validateRecord(
                user: "u", callID: "c",
                usage: UsageRecord(inputTokens: 1, outputTokens: 1, reportedCost: Cost(nanoUSD: -1)), model: "",
                provider: "")
        }
    }

    /// A cycle hash as HGETALL returns it.
    static func hash(_ pairs: [(String, String)]) -> [RedisReply] {
        pairs.flatMap { [RedisReply.bulk(Array($0.0.utf8)), RedisReply.bulk(Array($0.1.utf8))] }
    }

    @Test("a cycle hash's money: the primary model's cost is derived; no cost field means null")
    func cycleHashMoney() throws {
        var usage = UserUsage(
            user: "u", cycle: try CalendarDate(parsing: "2026-03-01"), cycleEnd: try CalendarDate(parsing: "2026-04-01")
        )
        try usage.apply(
            cycleHash: Self.hash([
                ("input_tokens", "30"), ("output_tokens", "3"), ("calls", "3"), ("model:primary", "a"),
                ("cost_nano", "1000"), ("unpriced_calls", "1"), ("reported_cost_nano", "77"),
                ("m:input_tokens:b", "10"), ("m:output_tokens:b", "1"), ("m:calls:b", "1"), ("m:cost_nano:b", "400"),
                ("m:input_tokens:c", "5"), ("m:output_tokens:c", "1"), ("m:calls:c", "1"), ("m:unpriced_calls:c", "1"),
            ]), key: "k")
        #expect(usage.money == CycleCost(cost: Cost(nanoUSD: 1000), unpricedCalls: 1, reportedCost: Cost(nanoUSD: 77)))
        #expect(usage.models["a"]?.cost == Cost(nanoUSD: 600) && usage.models["a"]?.unpricedCalls == 0)
        #expect(usage.models["b"]?.cost == Cost(nanoUSD: 400))
        #expect(usage.models["c"]?.cost == .zero && usage.models["c"]?.unpricedCalls == 1)

        var legacy = UserUsage(
            user: "u", cycle: try CalendarDate(parsing: "2026-03-01"), cycleEnd: try CalendarDate(parsing: "2026-04-01")
        )
        try legacy.apply(
            cycleHash: Self.hash([
                ("input_tokens", "30"), ("output_tokens", "3"), ("calls", "1"), ("model:primary", "a"),
            ]),
            key: "k")
        #expect(legacy.money.cost == nil && legacy.models["a"]?.cost == nil)
        #expect(throws: LedgerError.self) {
            var bad = legacy
            try bad.apply(cycleHash: Self.hash([("cost_nano", "-5")]), key: "k")
        }
    }

    @Test("a history summary written before cost decodes with cost null")
    func oldSummary() throws {
        let text =
            #"{"adjustments":0,"cache_write_tokens":0,"cached_input_tokens":0,"calls":1,"cycle":"2026-03-01","cycle_end":"2026-04-01","input_tokens":10,"limit":null,"models":{"a":{"calls":1,"input_tokens":10,"output_tokens":5,"total_tokens":15}},"output_tokens":5,"reasoning_tokens":0,"total_tokens":15,"user":"u"}"#
        let summary = try JSONDecoder().decode(CycleSummary.self, from: Data(text.utf8))
        #expect(summary.money.cost == nil && summary.models["a"]?.cost == nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let again = String(decoding: try encoder.encode(summary), as: UTF8.self)
        #expect(again.contains(#""cost_usd":null"#) && again.contains(#""unpriced_calls":0"#), "\(again)")
    }
}

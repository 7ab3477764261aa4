import Foundation
import Testing
import TokenLedger

@Suite("Prices: exact rates and costs")
struct PriceRateTests {
    @Test(
        "list prices parse exactly into nano-USD per million tokens",
        arguments: [
            ("3", 3_000_000_000), ("0.3", 300_000_000), ("1.25", 1_250_000_000), ("0.075", 75_000_000),
            ("0.00875", 8_750_000), ("0.0375", 37_500_000), ("22.5", 22_500_000_000), ("600", 600_000_000_000),
            ("0", 0), ("0.000000001", 1), (".5", 500_000_000), ("2.5e1", 25_000_000_000), ("1E-3", 1_000_000),
            ("4000", 4_000_000_000_000), ("0.300000000000", 300_000_000), ("007.5", 7_500_000_000),
            // The same value written in other ways; a negative zero is zero; exponent leading zeros.
            ("1e-7", 100), ("0.0000001", 100), ("-0", 0), ("-0.0", 0), ("1e00001", 10_000_000_000),
            ("3E+0000", 3_000_000_000), ("1e-0009", 1),
        ])
    func parsesPerMillion(text: String, nano: Int) throws {
        let rate = try PriceRate(usdPerMillionTokens: text, field: "--input")
        #expect(rate.nanoUSDPerMillionTokens == nano)
    }

    @Test(
        "LiteLLM's per-token numbers convert exactly from their text, never through Double",
        arguments: [
            ("3e-06", 3_000_000_000), ("1.5e-05", 15_000_000_000), ("1.25e-07", 125_000_000),
            ("5.46875e-07", 546_875_000), ("2.1875e-06", 2_187_500_000), ("0.00015", 150_000_000_000),
            ("7.5e-08", 75_000_000), ("2e-08", 20_000_000), ("0.0", 0), ("8.75e-09", 8_750_000),
            ("2.25e-05", 22_500_000_000), ("3.3e-08", 33_000_000), ("1.65e-08", 16_500_000),
        ])
    func parsesPerToken(text: String, nano: Int) throws {
        #expect(try PriceRate(usdPerToken: text, field: "input_cost_per_token").nanoUSDPerMillionTokens == nano)
        // The Double route gets such numbers wrong: 3.3e-08 × 10^15 is 32999999.999999996 as a Double.
        if text == "3.3e-08" { #expect(Double(text)! * 1e15 != 33_000_000) }
    }

    @Test(
        "bad rates are refused with the option named and why",
        arguments: [
            ("-1", "cannot be negative"), ("abc", "decimal number"), ("", "decimal number"), ("1.", "decimal number"),
            ("+1", "decimal number"), (" 1", "decimal number"), ("nan", "decimal number"), ("inf", "decimal number"),
            ("0x10", "decimal number"), ("1e", "decimal number"), ("1,5", "decimal number"),
            ("0.0000000001", "at most 9 decimals"), ("4000.0000000001", "at most 9 decimals"),
            ("4000.000000001", "largest rate is 4000"), ("1e400", "largest rate"), ("99999999999999999999", "largest"),
            ("-0.5", "cannot be negative"), ("-1e-9", "cannot be negative"), ("1e-9999", "at most 9 decimals"),
            ("1e10000", "decimal number"), ("1e-10000", "decimal number"),
        ])
    func refusesBadRates(text: String, reason: String) {
        #expect {
            _ = try PriceRate(usdPerMillionTokens: text, field: "--cached-input")
        } throws: { error in
            guard let error = error as? ValidationError else { return false }
            return error.code == .invalidPrice && error.field == "--cached-input"
                && error.message.hasPrefix("--cached-input is ") && error.message.contains(reason)
        }
    }

    @Test("LiteLLM numbers with float noise beyond 15 decimals are refused, not rounded")
    func refusesFloatNoise() {
        #expect {
            _ = try PriceRate(usdPerToken: "3.0000000000000004e-07", field: "input_cost_per_token")
        } throws: { ($0 as? ValidationError)?.message.contains("at most 15 decimals") == true }
    }

    @Test("a rate prints as its shortest exact decimal and reads back the same")
    func printsExactly() throws {
        #expect(try PriceRate(usdPerMillionTokens: "0.075", field: "r").description == "0.075")
        #expect(try PriceRate(usdPerMillionTokens: "3.000", field: "r").description == "3")
        #expect(try PriceRate(usdPerMillionTokens: "1.25", field: "r").description == "1.25")
        #expect(try PriceRate(usdPerMillionTokens: "0.000000001", field: "r").description == "0.000000001")
        var generator = SplitMix64(seed: 17)
        for _ in 0..<2000 {
            let nano = Int.random(in: 0...PriceRate.maximum.nanoUSDPerMillionTokens, using: &generator)
            let rate = try PriceRate(nanoUSDPerMillionTokens: nano)
            #expect(try PriceRate(usdPerMillionTokens: rate.description, field: "r") == rate)
        }
        let json = try JSONEncoder().encode(["input": try PriceRate(usdPerMillionTokens: "0.3", field: "r")])
        #expect(String(decoding: json, as: UTF8.self) == #"{"input":"0.3"}"#)
        // A number (already a binary float somewhere) is refused; the string form is required.
        #expect(throws: ValidationError.self) {
            _ = try JSONDecoder().decode([String: PriceRate].self, from: Data(#"{"input":0.3}"#.utf8))
        }
    }

    @Test("a cost is nine decimals of USD in JSON and parses back exactly")
    func costText() throws {
        #expect(Cost(nanoUSD: 3_960_000_000).description == "3.960000000")
        #expect(Cost(nanoUSD: 146_625).description == "0.000146625")
        #expect(Cost.zero.description == "0.000000000")
        #expect(Cost(nanoUSD: -1).description == "-0.000000001")
        #expect(Cost(nanoUSD: Int.max).description == "9223372036.854775807")
        #expect(try Cost(parsing: "3.96").nanoUSD == 3_960_000_000)
        #expect(try Cost(parsing: "-0.000000001").nanoUSD == -1)
        #expect(throws: ValidationError.self) { _ = try Cost(parsing: "0.0000000001") }
        #expect(throws: ValidationError.self) { _ = try Cost(parsing: "abc") }
        struct Shown: Codable, Equatable { var cost_usd: Cost? }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(
            String(decoding: try encoder.encode(Shown(cost_usd: Cost(nanoUSD: 146_625))), as: UTF8.self)
                == #"{"cost_usd":"0.000146625"}"#)
        #expect(
            try JSONDecoder().decode(Shown.self, from: Data(#"{"cost_usd":"3.960000000"}"#.utf8)).cost_usd?.nanoUSD
                == 3_960_000_000)
        #expect(try JSONDecoder().decode(Shown.self, from: Data(#"{"cost_usd":null}"#.utf8)).cost_usd == nil)
        #expect(Cost(nanoUSD: Int.max).addingReportingOverflow(Cost(nanoUSD: 1)).overflow)
    }
}

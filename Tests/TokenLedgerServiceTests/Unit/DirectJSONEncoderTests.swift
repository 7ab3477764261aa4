import Foundation
import Testing
import TokenLedger

@testable import TokenLedgerService

/// The responses' direct JSON writer: the same bytes as the CLI's `JSONEncoder` settings for every
/// shape it writes, and no answer (so `JSONEncoder` writes it) for what it does not. No server needed.
@Suite("Direct JSON encoder")
struct DirectJSONEncoderTests {
    /// What `JSONEncoder` with the CLI's settings writes.
    static func foundation(_ value: some Encodable) throws -> [UInt8] {
        Array(try JSONResponse.encoder().encode(value))
    }

    struct Inner: Encodable {
        var b: Int
        var a: String?
        var list: [Int?]
    }

    struct Shapes: Encodable {
        var text: String
        var inner: Inner
        var inners: [Inner]
        var byName: [String: Int]
        var byNumber: [Int: String]
        var missing: String?
        var flag: Bool
        var largest: UInt64
        var smallest: Int
        var nested: [[String]]
        var empty: [String: Int]
    }

    class Base: Encodable {
        var base = 1
    }

    final class Derived: Base {
        var own = 2
        enum Keys: CodingKey { case own }
        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(own, forKey: .own)
            try super.encode(to: container.superEncoder())
        }
    }

    @Test("nested objects, arrays, optionals, dictionaries, integer bounds and sorted keys as JSONEncoder writes them")
    func shapes() throws {
        let value = Shapes(
            text:
                "quote\" backslash\\ slash/ newline\n tab\t cr\r bs\u{8} ff\u{c} nul\u{0} us\u{1f} del\u{7f} é 😀 \u{2028}",
            inner: Inner(b: -5, a: nil, list: [1, nil]), inners: [Inner(b: 1, a: "x", list: [])],
            byName: ["b": 1, "a_b": 2, "aB": 3, "call_id": 4, "calls": 5, "Z": 6, "é": 7, "10": 8, "9": 9],
            byNumber: [10: "ten", 9: "nine"], missing: nil, flag: true, largest: .max, smallest: .min,
            nested: [[], ["a"]], empty: [:])
        let direct = try #require(DirectJSONEncoder.encode(value))
        #expect(direct == (try Self.foundation(value)))
        #expect(DirectJSONEncoder.encode(Derived()) == (try Self.foundation(Derived())))
        #expect(DirectJSONEncoder.encode("top") == (try Self.foundation("top")))
        #expect(DirectJSONEncoder.encode([Int]()) == Array("[]".utf8))
        #expect(DirectJSONEncoder.encode(Int?.none) == Array("null".utf8))
    }

    @Test("the service's responses: a record result (priced, unpriced, amended), a problem, health")
    func responses() throws {
        var result = RecordResult(
            applied: true, user: "alice", cycle: try CalendarDate(year: 2026, month: 11, day: 1), totalTokens: 15,
            calls: 2)
        result.cost = .priced(Cost(nanoUSD: 1_234_567))
        var unpriced = result
        unpriced.cost = .unpriced
        unpriced.amendsHistory = true
        unpriced.unreplicated = true
        for value in [
            result, unpriced, RecordResult(applied: false, user: "b", cycle: result.cycle, totalTokens: 0, calls: 0),
        ] {
            let direct = try #require(DirectJSONEncoder.encode(value))
            #expect(direct == (try Self.foundation(value)))
        }
        let problem = Problem(
            status: .conflict, code: "call_conflict", detail: "call \"c1\" was recorded", field: "call_id")
        #expect(DirectJSONEncoder.encode(problem) == (try Self.foundation(problem)))
        let health = HealthOutput(status: "ok")
        #expect(DirectJSONEncoder.encode(health) == Array(#"{"status":"ok"}"#.utf8))
    }

    struct Nothing: Encodable {
        func encode(to encoder: any Encoder) throws {}
    }

    @Test("floating-point numbers, dates, data, URLs, decimals and values that encode nothing are left to JSONEncoder")
    func fallbacks() throws {
        #expect(DirectJSONEncoder.encode(["d": 1.5]) == nil)
        #expect(DirectJSONEncoder.encode(["f": Float(1)]) == nil)
        #expect(DirectJSONEncoder.encode(["d": Date(timeIntervalSince1970: 0)]) == nil)
        #expect(DirectJSONEncoder.encode(["d": Data([1, 2])]) == nil)
        #expect(DirectJSONEncoder.encode(["u": URL(string: "https://example.com/a")!]) == nil)
        #expect(DirectJSONEncoder.encode(["n": Decimal(1)]) == nil)
        #expect(DirectJSONEncoder.encode([Nothing()]) == nil)
        // Through the response maker: the same bytes either way.
        let response = try JSONResponse.make(["d": 1.5])
        #expect(response.headers[.contentType] == "application/json")
    }
}

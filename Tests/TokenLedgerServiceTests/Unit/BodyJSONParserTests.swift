import Foundation
import Testing

@testable import TokenLedgerService

/// The request body parser: values, escapes, exact integers, and every kind of malformed input
/// refused (never a crash). No server needed.
@Suite("Body JSON parser")
struct BodyJSONParserTests {
    static func parse(_ text: String) throws(BodyJSONParser.Failure) -> BodyValue {
        try BodyJSONParser.parse(Array(text.utf8)).value
    }

    static func failure(_ bytes: [UInt8]) -> BodyJSONParser.Failure? {
        do {
            _ = try BodyJSONParser.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    static func failure(_ text: String) -> BodyJSONParser.Failure? { failure(Array(text.utf8)) }

    @Test("every kind of value, whitespace between tokens and a leading byte-order mark")
    func values() throws {
        let value = try Self.parse(
            " \t\r\n{ \"a\" : 1 , \"b\":\"x\",\"c\":true,\"d\":false,\"e\":null,\"f\":[1,[],{}],\"g\":{\"h\":-2}} \n")
        #expect(
            value
                == .object([
                    "a": .integer(1), "b": .string("x"), "c": .bool(true), "d": .bool(false), "e": .null,
                    "f": .array([.integer(1), .array([]), .object([:])]), "g": .object(["h": .integer(-2)]),
                ]))
        #expect(try BodyJSONParser.parse([0xEF, 0xBB, 0xBF] + Array("{}".utf8)).value == .object([:]))
        #expect(try Self.parse("\"top\"") == .string("top"))
        #expect(try Self.parse("[]") == .array([]))
    }

    @Test("every escape, UTF-8 text as it is, and \\u escapes with surrogate pairs")
    func escapes() throws {
        #expect(
            try Self.parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{08}\u{0C}\n\r\t"))
        #expect(try Self.parse(#""\u0041\u00e9\u20AC\u0000""#) == .string("Aé€\u{0}"))
        #expect(try Self.parse(#""é😀 plain""#) == .string("é😀 plain"))
        #expect(try Self.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try Self.parse(#""a\uD834\uDD1Eb""#) == .string("a𝄞b"))
        #expect(try Self.parse(#""\udbff\udfff""#) == .string("\u{10FFFF}"))
        #expect(try Self.parse(#"{"k\u00e9y":1}"#) == .object(["kéy": .integer(1)]))
    }

    @Test("lone or misordered surrogates and bad escapes are refused")
    func badEscapes() {
        for text in [
            #""\ud83d""#, #""\ud83dx""#, #""\ud83d\u0041""#, #""\ude00""#, #""\ude00\ud83d""#, #""\ud83d\n""#,
            #""\x""#, #""\U0041""#, #""\u12""#, #""\u12g4""#, #""\"#, #""\u"#, #""\ud83d\u"#, #""\'""#,
        ] {
            #expect(Self.failure(text) != nil, "\(text)")
        }
        #expect(Self.failure(#""\ud83d""#)?.reason.contains("surrogate") == true)
    }

    @Test("integers are exact up to Int64's bounds; past them, or with a fraction or exponent, a Double")
    func numbers() throws {
        #expect(try Self.parse("9223372036854775807") == .integer(Int.max))
        #expect(try Self.parse("-9223372036854775808") == .integer(Int.min))
        #expect(try Self.parse("9223372036854775806") == .integer(Int.max - 1))
        #expect(try Self.parse("9007199254740993") == .integer(9_007_199_254_740_993))  // not a Double
        #expect(try Self.parse("9223372036854775808") == .number(0x1p63))
        #expect(try Self.parse("-9223372036854775809") == .number(-0x1p63))
        #expect(try Self.parse("123456789012345678901234567890") == .number(1.2345678901234568e29))
        #expect(try Self.parse("0") == .integer(0))
        #expect(try Self.parse("-0") == .integer(0))
        #expect(try Self.parse("1000000000000") == .integer(1_000_000_000_000))
        #expect(try Self.parse("1.0") == .number(1))
        #expect(try Self.parse("1e2") == .number(100))
        #expect(try Self.parse("1E+2") == .number(100))
        #expect(try Self.parse("-2.5e-1") == .number(-0.25))
        #expect(try Self.parse("0.5") == .number(0.5))
        #expect(Self.failure("1e400")?.reason == "the number is out of range")
        #expect(Self.failure("-1e400") != nil)
    }

    @Test("malformed documents are refused, each with a reason and the offset of the fault")
    func malformed() {
        let cases: [(String, Int)] = [
            ("", 0), (" ", 1), ("{", 1), ("}", 0), ("[", 1), ("]", 0), (#"{"a"}"#, 4), (#"{"a":}"#, 5),
            (#"{"a":1,}"#, 7), ("[1,]", 3), ("[,1]", 1), ("[1 2]", 3), (#"{"a" 1}"#, 5), ("{1:2}", 1),
            ("{'a':1}", 1), ("01", 1), ("-01", 2), ("1.", 2), (".5", 0), ("+1", 0), ("-", 1), ("1e", 2),
            ("1e+", 3), ("1.e2", 2), ("tru", 0), ("nul", 0), ("truex", 4), ("NaN", 0), ("Infinity", 0),
            ("-Infinity", 1), (#""abc"#, 0), (#"{"a":1} x"#, 8), ("{}{}", 2), ("/*c*/{}", 0), ("{}//", 2),
            ("\u{0B}1", 0), ("1\u{0C}", 1), ("[1]]", 3), (#"{"a":[1}"#, 7), (#"["a\#u{01}b"]"#, 3),
            ("\"a\nb\"", 2), ("[\u{00A0}1]", 1),
        ]
        for (text, offset) in cases {
            let failure = Self.failure(text)
            #expect(failure != nil, "\(text.debugDescription) was accepted")
            #expect(failure?.offset == offset, "\(text.debugDescription): \(failure.map { "\($0)" } ?? "")")
            #expect(failure?.reason.isEmpty == false)
        }
        #expect(Self.failure("{\"a\":1,}")?.reason == "unexpected '}', expected a member name in double quotes")
        #expect(Self.failure("[1 2]")?.reason == "unexpected '2', expected ',' or ']'")
    }

    @Test("a member name given twice is refused, naming it; at the top level it is the member")
    func duplicates() {
        let top = Self.failure(#"{"input_tokens":1,"input_tokens":2}"#)
        #expect(top?.isDuplicate == true)
        #expect(top?.member == "input_tokens")
        #expect(top?.reason == #"the member "input_tokens" is given twice"#)
        let nested = Self.failure(#"{"response":{"usage":{"a":1,"a":1}}}"#)
        #expect(nested?.isDuplicate == true)
        #expect(nested?.member == "response")
        #expect(Self.failure(#"{"a":{"b":1},"c":{"b":2}}"#) == nil)
        // Names equal only after unescaping are the same name.
        #expect(Self.failure(#"{"a":1,"\u0061":2}"#)?.isDuplicate == true)
    }

    @Test("a fault inside a top-level member names that member")
    func member() {
        #expect(Self.failure(#"{"user":"u","input_tokens":1e400}"#)?.member == "input_tokens")
        #expect(Self.failure(#"{"user":"u",}"#)?.member == nil)
        #expect(Self.failure(#"{"response":{"x":[1,}}"#)?.member == "response")
    }

    @Test("nesting past 512 levels is refused before going deeper, whatever the depth, never a crash")
    func depth() throws {
        let limit = BodyJSONParser.maximumDepth
        #expect(limit == 512)
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(Self.failure(deepest) == nil)
        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(Self.failure(tooDeep)?.reason == "nesting deeper than 512 levels")
        #expect(Self.failure(tooDeep)?.offset == limit)
        for count in [10_000, 1_000_000] {
            #expect(Self.failure(String(repeating: "[", count: count))?.offset == limit)
            #expect(Self.failure(String(repeating: #"{"a":"#, count: count))?.offset == limit * 5)
        }
    }

    @Test("the raw text of the member asked for is its exact bytes")
    func rawText() throws {
        let text = #"{"user":"u", "response" : {"usage": {"prompt_tokens": 1.0}} ,"b":2}"#
        let parsed = try BodyJSONParser.parse(Array(text.utf8), keepingRawTextOf: "response")
        let range = try #require(parsed.rawRange)
        #expect(String(decoding: Array(text.utf8)[range], as: UTF8.self) == #"{"usage": {"prompt_tokens": 1.0}}"#)
        #expect(
            try BodyJSONParser.parse(Array(#"{"a":{"response":1}}"#.utf8), keepingRawTextOf: "response").rawRange == nil
        )
    }

    @Test("random values survive Foundation's encoding and an all-\\u escaping, parsed back equal")
    func roundTrips() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let value = Self.randomValue(depth: 0, using: &generator)
            let object = Self.foundationObject(value)
            let data = try JSONSerialization.data(withJSONObject: [object], options: [.fragmentsAllowed])
            #expect(try BodyJSONParser.parse(Array(data)).value == .array([value]))
            let escaped = Self.escapedEverywhere(value)
            #expect(try Self.parse(escaped) == value, "\(escaped)")
        }
    }

    // MARK: - Random values

    static func randomString(using generator: inout SystemRandomNumberGenerator) -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...12, using: &generator) {
            let ranges: [ClosedRange<UInt32>] = [
                0...0x1F, 0x20...0x7E, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF,
            ]
            let range = ranges.randomElement(using: &generator)!
            if let scalar = Unicode.Scalar(UInt32.random(in: range, using: &generator)) { scalars.append(scalar) }
        }
        return String(scalars)
    }

    static func randomValue(depth: Int, using generator: inout SystemRandomNumberGenerator) -> BodyValue {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2:
            let bounds = [Int.min, Int.max, 0, -1, 1_000_000_000_000]
            return .integer(
                Bool.random(using: &generator)
                    ? bounds.randomElement(using: &generator)! : Int.random(in: .min ... .max, using: &generator))
        case 3: return .string(randomString(using: &generator))
        case 4: return .number(Double(Int.random(in: -1000...1000, using: &generator)) + 0.25)
        case 5:
            return .array(
                (0..<Int.random(in: 0...4, using: &generator)).map { _ in
                    randomValue(depth: depth + 1, using: &generator)
                })
        default:
            var members: [String: BodyValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &generator) {
                members[randomString(using: &generator)] = randomValue(depth: depth + 1, using: &generator)
            }
            return .object(members)
        }
    }

    static func foundationObject(_ value: BodyValue) -> Any {
        switch value {
        case .null: NSNull()
        case .bool(let flag): flag
        case .integer(let number): number
        case .number(let number): number
        case .string(let text): text
        case .array(let values): values.map(foundationObject)
        case .object(let members): members.mapValues(foundationObject)
        }
    }

    /// JSON text with every string character written as `\u` escapes (surrogate pairs above the BMP).
    static func escapedEverywhere(_ value: BodyValue) -> String {
        func string(_ text: String) -> String {
            "\"" + text.utf16.map { String(format: "\\u%04X", $0) }.joined() + "\""
        }
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .integer(let number): return String(number)
        case .number(let number): return "\(number)"
        case .string(let text): return string(text)
        case .array(let values): return "[" + values.map(escapedEverywhere).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.map { string($0.key) + ":" + escapedEverywhere($0.value) }.joined(separator: ",") + "}"
        }
    }
}

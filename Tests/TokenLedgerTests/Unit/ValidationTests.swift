import Foundation
import Testing

@testable import TokenLedger

/// The error `body` throws, or `nil` (recording an issue) when it does not throw.
private func refusal(_ body: () throws(ValidationError) -> Void, sourceLocation: SourceLocation = #_sourceLocation)
    -> ValidationError?
{
    do {
        try body()
        Issue.record("expected a ValidationError", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

@Suite("Validation (SPEC: Bad input)")
struct ValidationTests {
    @Test("user ids: 1 to 256 bytes")
    func userIDLength() throws {
        try Validation.validateUserID("a")
        try Validation.validateUserID(String(repeating: "a", count: 256))
        let long = refusal { () throws(ValidationError) in
            try Validation.validateUserID(String(repeating: "a", count: 257))
        }
        #expect(long?.code == .invalidUserID)
        #expect(long?.field == "user_id")
        #expect(long?.message == "user id is 257 bytes; the limit is 256")
        let empty = refusal { () throws(ValidationError) in try Validation.validateUserID("") }
        #expect(empty?.message == "user id is empty; it must be 1 to 256 bytes of UTF-8")
    }

    @Test("user ids: a 4-byte emoji straddling the limit is counted in bytes")
    func userIDEmojiBoundary() throws {
        let emoji = "😀"  // U+1F600, 4 bytes of UTF-8
        #expect(emoji.utf8.count == 4)
        try Validation.validateUserID(String(repeating: "a", count: 252) + emoji)  // 256 bytes, 253 characters
        let over = refusal { () throws(ValidationError) in
            try Validation.validateUserID(String(repeating: "a", count: 253) + emoji)  // 257 bytes, 254 characters
        }
        #expect(over?.message == "user id is 257 bytes; the limit is 256")
        try Validation.validateUserID(String(repeating: emoji, count: 64))  // 256 bytes
        #expect(throws: ValidationError.self) {
            try Validation.validateUserID(String(repeating: emoji, count: 64) + "a")
        }
    }

    @Test(
        "user ids: control characters (Cc) are refused",
        arguments: [
            "\u{0}", "\u{1}", "\t", "\n", "\r", "\u{1B}", "\u{1F}", "\u{7F}", "\u{80}", "\u{85}", "\u{9F}",
        ])
    func userIDControls(control: String) {
        let error = refusal { () throws(ValidationError) in try Validation.validateUserID("ab" + control + "c") }
        #expect(error?.code == .invalidUserID)
        #expect(error?.message.contains("at byte 2") == true)
    }

    @Test("user ids: format characters, spaces and any printable text are kept")
    func userIDAllowed() throws {
        for id in [
            "👩‍👩‍👧‍👦", "a\u{200D}b", "a\u{200B}b", "\u{FEFF}x", "\u{A0}", "user@example.com", "{tenant}:bob", "%41",
            " spaced ",
            "\u{A0}\u{2028}", "é", "e\u{301}", "🇩🇪", "日本語",
        ] {
            try Validation.validateUserID(id)
        }
    }

    @Test("control-character message names the code point")
    func controlMessage() {
        let error = refusal { () throws(ValidationError) in try Validation.validateUserID("bob\u{85}") }
        #expect(
            error?.message == "user id contains control character U+0085 at byte 3; control characters are not allowed")
    }

    @Test("token counts: 0 to 10^12")
    func tokenCounts() throws {
        try Validation.validateTokenCount(0, field: "input_tokens")
        try Validation.validateTokenCount(1_000_000_000_000, field: "input_tokens")
        let over = refusal { () throws(ValidationError) in
            try Validation.validateTokenCount(1_000_000_000_001, field: "input_tokens")
        }
        #expect(over?.code == .invalidTokenCount)
        #expect(over?.field == "input_tokens")
        #expect(over?.message == "input tokens is 1000000000001; the limit is 1000000000000 (10^12)")
        let negative = refusal { () throws(ValidationError) in
            try Validation.validateTokenCount(-1, field: "output_tokens")
        }
        #expect(negative?.message == "output tokens is -1; token counts must be integers from 0 to 1000000000000")
        #expect(throws: ValidationError.self) { try Validation.validateTokenCount(.min, field: "x") }
        #expect(throws: ValidationError.self) { try Validation.validateTokenCount(.max, field: "x") }
    }

    @Test("token counts from text")
    func tokenCountText() throws {
        #expect(try Validation.parseTokenCount("0", field: "input_tokens") == 0)
        #expect(try Validation.parseTokenCount("1200", field: "input_tokens") == 1200)
        #expect(try Validation.parseTokenCount("1000000000000", field: "input_tokens") == 1_000_000_000_000)
        #expect(try Validation.parseTokenCount("007", field: "input_tokens") == 7)
        for bad in [
            "", "-1", "1000000000001", "99999999999999999999999999", "1e3", "1.0", "+5", " 5", "5 ", "1_000", "١٢",
            "0x10", "-",
        ] {
            #expect(throws: ValidationError.self, "\(bad)") {
                try Validation.parseTokenCount(bad, field: "input_tokens")
            }
        }
        let huge = refusal { () throws(ValidationError) in
            _ = try Validation.parseTokenCount("99999999999999999999999999", field: "input_tokens")
        }
        #expect(huge?.message == "input tokens \"99999999999999999999999999\" is too large; the limit is 1000000000000")
        let word = refusal { () throws(ValidationError) in
            _ = try Validation.parseTokenCount("lots", field: "output_tokens")
        }
        #expect(word?.message == "output tokens \"lots\" is not a whole number")
    }

    @Test("limits: 0 to 2^53 - 1")
    func limits() throws {
        try Validation.validateLimit(0)
        try Validation.validateLimit(9_007_199_254_740_991)
        #expect(throws: ValidationError.self) { try Validation.validateLimit(9_007_199_254_740_992) }
        #expect(throws: ValidationError.self) { try Validation.validateLimit(-1) }
        #expect(try Validation.parseLimit("500000") == 500_000)
        #expect(throws: ValidationError.self) { try Validation.parseLimit("unlimited") }
    }

    @Test("counter sums stay within Int64")
    func sums() throws {
        #expect(try Validation.checkedAdd(1, 2, field: "total_tokens") == 3)
        #expect(try Validation.checkedAdd(Int(Int64.max) - 5, 5, field: "total_tokens") == Int(Int64.max))
        let overflow = refusal { () throws(ValidationError) in
            _ = try Validation.checkedAdd(Int(Int64.max), 1, field: "total_tokens")
        }
        #expect(overflow?.code == .counterOverflow)
        #expect(throws: ValidationError.self) { try Validation.checkedAdd(-1, 1, field: "x") }
        // Headroom: a counter needs more than 4.6 million maximum-size events (2 * 10^12 each) to overflow.
        #expect(Int(Int64.max) / (2 * Validation.maximumTokenCount) > 4_600_000)
        #expect(Validation.maximumLimit == (1 << 53) - 1)
    }

    @Test("call ids: 1 to 128 bytes, no control characters")
    func callIDs() throws {
        try Validation.validateCallID("c")
        try Validation.validateCallID(String(repeating: "c", count: 128))
        let long = refusal { () throws(ValidationError) in
            try Validation.validateCallID(String(repeating: "c", count: 129))
        }
        #expect(long?.code == .invalidIdentifier)
        #expect(long?.message == "call id is 129 bytes; the limit is 128")
        #expect(throws: ValidationError.self) { try Validation.validateCallID("") }
        #expect(throws: ValidationError.self) { try Validation.validateCallID("run\n1") }
        try Validation.validateCallID(String(repeating: "a", count: 124) + "😀")  // 128 bytes
        #expect(throws: ValidationError.self) {
            try Validation.validateCallID(String(repeating: "a", count: 125) + "😀")
        }
    }

    @Test("model and provider: up to 128 bytes, empty means not reported")
    func modelAndProvider() throws {
        try Validation.validateModel("")
        try Validation.validateProvider("")
        try Validation.validateModel("gpt-4o-2024-08-06")
        try Validation.validateModel(String(repeating: "m", count: 128))
        let long = refusal { () throws(ValidationError) in
            try Validation.validateModel(String(repeating: "m", count: 129))
        }
        #expect(long?.message == "model is 129 bytes; the limit is 128")
        #expect(throws: ValidationError.self) { try Validation.validateProvider(String(repeating: "p", count: 129)) }
        #expect(throws: ValidationError.self) { try Validation.validateModel("gpt\u{0}") }
        #expect(throws: ValidationError.self) { try Validation.validateProvider("open\u{7F}ai") }
    }

    @Test("namespaces: 1 to 64 bytes of [A-Za-z0-9_.-]")
    func namespaces() throws {
        for good in ["tl", "TL_prod-2.eu", String(repeating: "n", count: 64), "0", "."] {
            try Validation.validateNamespace(good)
        }
        for bad in ["", String(repeating: "n", count: 65), "tl:", "{tl}", "t l", "tl*", "é", "tl/x", "tl\u{0}"] {
            let error = refusal { () throws(ValidationError) in try Validation.validateNamespace(bad) }
            #expect(error?.code == .invalidNamespace)
        }
        let brace = refusal { () throws(ValidationError) in try Validation.validateNamespace("ab{c") }
        #expect(
            brace?.message
                == "namespace contains \"{\" (U+007B) at byte 2; only letters A-Z a-z, digits, '_', '.' and '-' are allowed"
        )
    }

    @Test("cycle dates")
    func cycleDates() throws {
        #expect(try Validation.parseCycleDate("2024-02-29") == day("2024-02-29"))
        let error = refusal { () throws(ValidationError) in _ = try Validation.parseCycleDate("2025-02-29") }
        #expect(error?.code == .invalidCycle)
        #expect(error?.field == "cycle")
        #expect(error?.message.hasPrefix("cycle \"2025-02-29\" is not a real date") == true)
    }

    @Test("errors read well")
    func errorPresentation() {
        let error = ValidationError(code: .invalidUserID, field: "user_id", message: "user id is empty")
        #expect("\(error)" == "user id is empty")
        #expect(error.localizedDescription == "user id is empty")
        #expect(ValidationError.Code.invalidUserID.rawValue == "invalid_user_id")
        #expect(Set(ValidationError.Code.allCases).count == ValidationError.Code.allCases.count)
    }
}

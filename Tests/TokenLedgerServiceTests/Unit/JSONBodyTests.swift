import Foundation
import Testing
import TokenLedger

@testable import TokenLedgerService

/// A request body read field by field: the problems a bad body gets (code and field), counts exact,
/// the provider response handed on as sent. No server needed.
@Suite("JSON body")
struct JSONBodyTests {
    static let recordFields: Set<String> = [
        "user", "call_id", "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
        "reasoning_tokens", "model", "provider", "cycle", "response",
    ]

    static func body(_ text: String) throws -> JSONBody {
        try JSONBody(bytes: Array(text.utf8), allowed: recordFields)
    }

    /// The code and field of the error reading `bytes` and its counts, or nil when both succeed.
    static func refusal(_ bytes: [UInt8]) -> (code: String, field: String?)? {
        do {
            _ = try JSONBody(bytes: bytes, allowed: recordFields).usage()
            return nil
        } catch let error as ServiceError {
            return (error.code.rawValue, error.field)
        } catch let error as ValidationError {
            return (error.code.rawValue, error.field)
        } catch {
            return ("unexpected \(error)", nil)
        }
    }

    static func refusal(_ text: String) -> (code: String, field: String?)? { refusal(Array(text.utf8)) }

    @Test("counts are read exactly, up to 10^12")
    func counts() throws {
        let body = try Self.body(
            #"{"user":"u","call_id":"c","input_tokens":1000000000000,"output_tokens":0,"reasoning_tokens":7}"#)
        let usage = try body.usage()
        #expect(usage.inputTokens == 1_000_000_000_000)
        #expect(usage.outputTokens == 0)
        #expect(usage.reasoningTokens == 7)
        #expect(usage.cachedInputTokens == nil)
        #expect(try body.user() == "u")
    }

    @Test("a count with a fraction or exponent, past 10^12 or past 64 bits is an invalid token count")
    func inexactCounts() {
        for count in ["1.0", "1e2", "2.5", "-0.0", "1000000000001", "9223372036854775808", "-1"] {
            let refusal = Self.refusal(#"{"user":"u","call_id":"c","input_tokens":\#(count),"output_tokens":1}"#)
            #expect(refusal?.code == "invalid_token_count", "\(count)")
            #expect(refusal?.field == "input_tokens", "\(count)")
        }
        let overflow = Self.refusal(#"{"user":"u","call_id":"c","input_tokens":1e400,"output_tokens":1}"#)
        #expect(overflow?.code == "malformed_json")
        #expect(overflow?.field == "body")
    }

    @Test("a field given twice is malformed JSON naming the field; the first is not silently taken")
    func duplicateField() {
        let refusal = Self.refusal(#"{"user":"u","call_id":"c","input_tokens":1,"input_tokens":5,"output_tokens":1}"#)
        #expect(refusal?.code == "malformed_json")
        #expect(refusal?.field == "input_tokens")
    }

    @Test("malformed bodies are malformed JSON on the body, with the reason and offset in the detail")
    func malformed() throws {
        for text in ["", "{", #"{"user":"u",}"#, "[1,2]", "nul", #"{"user":"u"} {}"#] {
            let refusal = Self.refusal(text)
            #expect(refusal?.code == "malformed_json", "\(text)")
            #expect(refusal?.field == "body", "\(text)")
        }
        do {
            _ = try Self.body(#"{"user":"u","input_tokens":[1,}"#)
            Issue.record("accepted")
        } catch let error as ServiceError {
            #expect(
                error.message
                    == #"the body is not valid JSON: unexpected '}', expected a value (byte 30 in "input_tokens")"#)
        }
    }

    @Test("invalid UTF-8 is refused naming the field it is in, in a key or a nested value too")
    func invalidUTF8() {
        let user =
            Array(#"{"user":"a"#.utf8) + [0xFF] + Array(#"","call_id":"c","input_tokens":1,"output_tokens":1}"#.utf8)
        #expect(Self.refusal(user)?.code == "invalid_utf8")
        #expect(Self.refusal(user)?.field == "user")
        let model =
            Array(#"{"user":"u","call_id":"c","input_tokens":1,"output_tokens":1,"model":"m"#.utf8) + [0xC3]
            + Array(#""}"#.utf8)
        #expect(Self.refusal(model)?.field == "model")
        let first = [0xFE] + Array(#"{"user":"u"}"#.utf8)
        #expect(Self.refusal(first)?.code == "invalid_utf8")
        #expect(Self.refusal(first)?.field == "body")
        #expect(Self.refusal(Array(#"{"user":"é","call_id":"c","input_tokens":1,"output_tokens":1}"#.utf8)) == nil)
    }

    @Test("an unknown field is refused by name")
    func unknownField() {
        let refusal = Self.refusal(#"{"user":"u","call_id":"c","input_tokens":1,"output_tokens":1,"colour":"red"}"#)
        #expect(refusal?.code == "unknown_field")
        #expect(refusal?.field == "colour")
    }

    @Test("a provider response object is handed on as the bytes sent; a string as its text")
    func response() throws {
        let sent = #"{"usage": {"prompt_tokens": 10, "completion_tokens": 2.0}, "model":"m\u00e9"}"#
        let body = try Self.body(#"{"user":"u","call_id":"c","response":  \#(sent)  }"#)
        #expect(try body.response() == Data(sent.utf8))
        let text = try Self.body(#"{"user":"u","call_id":"c","response":"data: {\"a\":1}\n\n"}"#)
        #expect(try text.response() == Data("data: {\"a\":1}\n\n".utf8))
    }

    @Test("the ASCII check agrees with UTF-8 validation for every length and position of a high byte")
    func asciiCheck() {
        for length in 0..<40 {
            let plain = [UInt8](repeating: UInt8(ascii: "a"), count: length)
            #expect(JSONBody.isASCII(plain))
            for position in 0..<length {
                var high = plain
                high[position] = 0x80
                #expect(!JSONBody.isASCII(high))
            }
        }
    }
}

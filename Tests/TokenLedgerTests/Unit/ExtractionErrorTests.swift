import Foundation
import Testing
import TokenLedger

/// Error paths: each case checks the code, the path, and that the message names the path.
@Suite("Usage extraction: errors")
struct ExtractionErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let input: String
        let provider: Provider
        let code: ExtractionError.Code
        let path: String
        var testDescription: String { name }

        init(_ name: String, _ input: String, _ code: ExtractionError.Code, at path: String) {
            self.init(name, input, .auto, code, at: path)
        }

        init(_ name: String, _ input: String, _ provider: Provider, _ code: ExtractionError.Code, at path: String) {
            self.name = name
            self.input = input
            self.provider = provider
            self.code = code
            self.path = path
        }
    }

    static let cases: [Case] = [
        Case("trailing comma", #"{"usage":{"prompt_tokens":12,}}"#, .malformedJSON, at: "$.usage"),
        Case("truncated", #"{"usage":{"prompt_tokens":1"#, .malformedJSON, at: "$.usage"),
        Case("bad literal", #"{"usage":{"prompt_tokens":nul}}"#, .malformedJSON, at: "$.usage.prompt_tokens"),
        Case("bad escape", #"{"model":"a\qb"}"#, .malformedJSON, at: "$.model"),
        Case("leading zero", #"{"usage":{"prompt_tokens":012}}"#, .malformedJSON, at: "$.usage.prompt_tokens"),
        Case("not JSON", "hello there", .malformedJSON, at: "$"),
        Case("empty", "  \n", .malformedJSON, at: "$"),
        Case("garbage after value", "{\"a\":1} xyz", .malformedJSON, at: "$"),
        Case("garbage after an NDJSON line", "{\"a\":1}\n}}}", .malformedJSON, at: "$[1]"),
        Case("pretty JSON then garbage", "{\n\"a\": 1\n}\n}", .malformedJSON, at: "$"),
        Case("bad NDJSON line", "{\"done\":false}\n{\"done\":tru}\n", .malformedJSON, at: "$[1].done"),
        Case("bad SSE event", "data: {\"type\":\"ping\"}\n\ndata: {\"type\":}\n\n", .malformedJSON, at: "$[1].type"),
        Case("unknown shape", #"{"hello":"world"}"#, .unrecognizedShape, at: "$"),
        Case("scalar", "42", .unrecognizedShape, at: "$"),
        Case("unknown stream", #"[{"a":1},{"b":2}]"#, .unrecognizedShape, at: "$"),
        Case(
            "non-object event", #"[{"object":"chat.completion.chunk","usage":null},17]"#, .unrecognizedShape, at: "$[1]"
        ),
        Case("empty stream", "[]", .noUsage, at: "$"),
        Case(
            "negative count", #"{"usage":{"prompt_tokens":-3,"completion_tokens":2}}"#, .invalidValue,
            at: "$.usage.prompt_tokens"),
        Case(
            "count above 10^12", #"{"usage":{"prompt_tokens":2000000000000,"completion_tokens":2}}"#, .invalidValue,
            at: "$.usage.prompt_tokens"),
        Case(
            "non-integral count", #"{"usage":{"prompt_tokens":12.5,"completion_tokens":2}}"#, .invalidValue,
            at: "$.usage.prompt_tokens"),
        Case(
            "string count", #"{"usage":{"prompt_tokens":"12","completion_tokens":2}}"#, .invalidValue,
            at: "$.usage.prompt_tokens"),
        Case(
            "boolean count", #"{"usage":{"prompt_tokens":10,"completion_tokens":true}}"#, .invalidValue,
            at: "$.usage.completion_tokens"),
        Case(
            "infinite count", #"{"usage":{"prompt_tokens":1e400,"completion_tokens":2}}"#, .invalidValue,
            at: "$.usage.prompt_tokens"),
        Case(
            "negative subset",
            #"{"usage":{"prompt_tokens":10,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":-1}}}"#,
            .invalidValue, at: "$.usage.prompt_tokens_details.cached_tokens"),
        Case("usage not an object", #"{"object":"chat.completion","usage":"lots"}"#, .invalidValue, at: "$.usage"),
        Case(
            "cached above input",
            #"{"usage":{"prompt_tokens":10,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":11}}}"#,
            .invalidValue, at: "$.usage"),
        Case(
            "reasoning above output",
            #"{"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,"completion_tokens_details":{"reasoning_tokens":3}}}"#,
            .invalidValue, at: "$.usage"),
        Case(
            "sum above 10^12",
            #"{"type":"message","usage":{"input_tokens":600000000000,"cache_read_input_tokens":600000000000,"output_tokens":1}}"#,
            .invalidValue, at: "$.usage"),
        Case(
            "input plus output above 10^12",
            #"{"usage":{"prompt_tokens":600000000000,"completion_tokens":600000000000}}"#,
            .invalidValue, at: "$.usage"),
        Case(
            "bad count inside a stream event",
            #"[{"object":"chat.completion.chunk","usage":null},{"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":"x","completion_tokens":1}}]"#,
            .invalidValue, at: "$[1].usage.prompt_tokens"),
        Case(
            "bad count in an SSE event",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":-1}}\n\n",
            .invalidValue,
            at: "$[0].usage.output_tokens"),
        Case(
            "missing output", #"{"type":"message","usage":{"input_tokens":3}}"#, .anthropic, .missingField,
            at: "$.usage.output_tokens"),
        Case(
            "missing prompt", #"{"usage":{"completion_tokens":3}}"#, .openai, .missingField, at: "$.usage.prompt_tokens"
        ),
        Case(
            "stream without usage",
            #"[{"object":"chat.completion.chunk","choices":[{"delta":{"content":"x"}}],"usage":null},"[DONE]"]"#,
            .noUsage, at: "$"),
        Case("response without usage", #"{"object":"chat.completion","choices":[]}"#, .noUsage, at: "$"),
        Case(
            "wrong explicit provider", #"{"usage":{"prompt_tokens":3,"completion_tokens":1}}"#, .gemini, .noUsage,
            at: "$"),
        Case(
            "Ollama load response", #"{"model":"m","created_at":"t","done":true,"done_reason":"load"}"#, .noUsage,
            at: "$"),
        Case("only a total", #"{"tokens_used":50}"#, .incompleteUsage, at: "$.prompt_tokens"),
    ]

    @Test("each bad input yields its code, and the message names the path", arguments: cases)
    func errorCase(_ testCase: Case) throws {
        let error = try #require(throws: ExtractionError.self) {
            try UsageExtractor.extract(from: Data(testCase.input.utf8), provider: testCase.provider)
        }
        #expect(error.code == testCase.code, "\(error.message)")
        #expect(error.path == testCase.path, "\(error.message)")
        #expect(error.message.hasPrefix(testCase.path + ":"), "\(error.message)")
        #expect(error.description == error.message)
        #expect(!error.message.isEmpty)
    }

    @Test("malformed JSON messages give the line and column")
    func lineAndColumn() throws {
        let text = "{\n  \"usage\": {\n    \"prompt_tokens\": 12,\n  }\n}"
        let error = try #require(throws: ExtractionError.self) { try UsageExtractor.extract(from: Data(text.utf8)) }
        #expect(error.message.contains("line 4, column 3"), "\(error.message)")
    }

    @Test("odd keys are quoted in paths")
    func quotedPathKeys() throws {
        let text =
            #"{"usage":{"prompt_tokens":10,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":"x"}}}"#
        let error = try #require(throws: ExtractionError.self) { try UsageExtractor.extract(from: Data(text.utf8)) }
        #expect(error.path == "$.usage.prompt_tokens_details.cached_tokens")
        let odd =
            #"{"usage_metadata":{"input_tokens":1,"output_tokens":1,"input_token_details":{"x-y_cache_read":"x"}}}"#
        let oddError = try #require(throws: ExtractionError.self) { try UsageExtractor.extract(from: Data(odd.utf8)) }
        #expect(oddError.path == #"$.usage_metadata.input_token_details["x-y_cache_read"]"#, "\(oddError.message)")
    }

    @Test("deep nesting is refused, not a crash")
    func deepNesting() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = try #require(throws: ExtractionError.self) { try UsageExtractor.extract(from: Data(deep.utf8)) }
        #expect(error.code == .malformedJSON)
        #expect(error.message.contains("nesting"))
        let deepObject = String(repeating: #"{"a":"#, count: 5_000) + "1" + String(repeating: "}", count: 5_000)
        #expect(throws: ExtractionError.self) { try UsageExtractor.extract(from: Data(deepObject.utf8)) }
    }

    @Test("invalid UTF-8, lone surrogates and control bytes never crash, and each has its outcome")
    func oddBytes() throws {
        // Each odd input with the error it must give (code and path).
        let refused: [(bytes: [UInt8], code: ExtractionError.Code, path: String)] = [
            ([0xFF, 0xFE, 0x00], .malformedJSON, "$"),
            (Array("{\"model\":\"a\u{01}b\"}".utf8), .malformedJSON, "$.model"),
            // Invalid UTF-8 inside a key is replaced, not trapped on; the object has no provider shape.
            ([0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D], .unrecognizedShape, "$"),
            (Array("data: [DONE]\n\n".utf8), .noUsage, "$"),
        ]
        for (bytes, code, path) in refused {
            let error = try #require(throws: ExtractionError.self, "\(bytes)") {
                try UsageExtractor.extractUsage(from: Data(bytes))
            }
            #expect(error.code == code, "\(bytes): \(error.message)")
            #expect(error.path == path, "\(bytes): \(error.message)")
            #expect(error.message.hasPrefix(path + ":"), "\(error.message)")
        }
        // A lone surrogate in a string is not a count: the usage is still read.
        let loneSurrogate = Array(#"{"model":"\uD800","usage":{"prompt_tokens":1,"completion_tokens":1}}"#.utf8)
        #expect(try UsageExtractor.extract(from: Data(loneSurrogate)) == UsageRecord(inputTokens: 1, outputTokens: 1))
    }

    @Test("mutated fixtures throw or extract, never crash", arguments: try UsageFixtures.fileNames())
    func mutationFuzz(fileName: String) throws {
        let fixture = try UsageFixtures.load(fileName)
        let original = Array(try UsageStreamText.jsonData(fixture.response))
        let sse = Array(try UsageStreamText.sse(fixture.response))
        var generator = SplitMix64(
            seed: UInt64(truncatingIfNeeded: fileName.utf8.reduce(7) { $0 &* 31 &+ Int($1) }))
        let alphabet = Array(#"{}[]:,"-0123456789.eE+ \n\tnulltruefalse[DONE]data:"#.utf8)
        for round in 0..<400 {
            var bytes = round.isMultiple(of: 2) ? original : sse
            switch generator.next() % 4 {
            case 0:
                bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count + 1))))
            case 1:
                for _ in 0..<3 where !bytes.isEmpty {
                    bytes[Int(generator.next() % UInt64(bytes.count))] =
                        alphabet[Int(generator.next() % UInt64(alphabet.count))]
                }
            case 2:
                if !bytes.isEmpty { bytes.remove(at: Int(generator.next() % UInt64(bytes.count))) }
            default:
                bytes.insert(
                    alphabet[Int(generator.next() % UInt64(alphabet.count))],
                    at: Int(generator.next() % UInt64(bytes.count + 1)))
            }
            do {
                let usage = try UsageExtractor.extractUsage(from: Data(bytes))
                if let record = usage.record {
                    #expect(record.inputTokens >= 0 && record.outputTokens >= 0)
                    #expect(record.totalTokens <= 1_000_000_000_000)
                }
            } catch {
                #expect(error.message.hasPrefix(error.path))
            }
        }
    }
}

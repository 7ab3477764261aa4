import Foundation
import Testing

@testable import TokenLedger

/// What the callback handlers record for a raw provider response (`UsageResolution`, no server):
/// a billed call is always recorded, reported counts kept, only what is missing estimated.
@Suite("Usage extraction: what the handlers record")
struct ExtractionResolutionTests {
    private static let estimator = HeuristicTokenEstimator()

    private static func resolve(
        _ raw: String, provider: String = "", promptEstimate: Int?, outputText: String? = nil
    ) -> UsageResolution.Outcome {
        UsageResolution.resolve(
            LLMResponse(raw: Data(raw.utf8)), provider: provider, promptEstimate: promptEstimate,
            outputText: outputText, estimator: estimator)
    }

    private static func recorded(_ outcome: UsageResolution.Outcome) -> UsageRecord? {
        if case .record(let record) = outcome { return record }
        return nil
    }

    @Test("a total-only response the extractor cannot split is still recorded, split with the prompt estimate")
    func totalOnlyRecords() throws {
        let raw = #"{"content":"x","model":"gpt-4o-mini","tokens_used":1262}"#
        // The extractor refuses to split it on its own...
        #expect(extractionErrorCode(try UsageExtractor.extract(from: Data(raw.utf8))) == .incompleteUsage)
        // ...the detailed handler (which has a prompt estimate) records it...
        let detailed = try #require(Self.recorded(Self.resolve(raw, promptEstimate: 1180)))
        #expect(detailed == UsageRecord(inputTokens: 1180, outputTokens: 82, source: .estimated))
        // ...and so does the basic handler, which has none: the whole total as output, estimated.
        let basic = try #require(Self.recorded(Self.resolve(raw, provider: "aiecs", promptEstimate: nil)))
        #expect(basic == UsageRecord(inputTokens: 0, outputTokens: 1262, source: .estimated))
        #expect(basic.totalTokens == 1262)
    }

    @Test("xAI reasoning outside completion_tokens is recorded as reported output, even with nothing to estimate from")
    func xaiRecords() throws {
        let raw = """
            {"object":"chat.completion","model":"grok-3-mini","usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":303,
             "completion_tokens_details":{"reasoning_tokens":290}}}
            """
        for provider in ["", "xai", "openai"] {
            let record = try #require(Self.recorded(Self.resolve(raw, provider: provider, promptEstimate: nil)))
            #expect(record == UsageRecord(inputTokens: 12, outputTokens: 291, reasoningTokens: 290, source: .reported))
        }
    }

    @Test("Ollama without prompt_eval_count: reported output, input from the prompt estimate")
    func ollamaRecords() throws {
        let raw = #"{"model":"llama3.2","created_at":"t","done":true,"eval_count":173}"#
        let detailed = try #require(Self.recorded(Self.resolve(raw, provider: "ollama", promptEstimate: 420)))
        #expect(detailed == UsageRecord(inputTokens: 420, outputTokens: 173, source: .estimated))
        let basic = try #require(Self.recorded(Self.resolve(raw, provider: "ollama", promptEstimate: nil)))
        #expect(basic == UsageRecord(inputTokens: 0, outputTokens: 173, source: .estimated))
    }

    @Test("Anthropic usage.iterations: the handler records the sum over every iteration")
    func iterationsRecord() throws {
        let raw = """
            {"type":"message","usage":{"input_tokens":23000,"output_tokens":1000,
             "iterations":[{"type":"compaction","input_tokens":180000,"output_tokens":3500},
                           {"type":"message","input_tokens":23000,"output_tokens":1000}]}}
            """
        let record = try #require(Self.recorded(Self.resolve(raw, provider: "anthropic", promptEstimate: 5)))
        #expect(record == UsageRecord(inputTokens: 203_000, outputTokens: 4500, source: .reported))
    }

    @Test("every fixture is recorded by the handlers with the fixture's counts")
    func everyFixtureRecords() throws {
        for name in try UsageFixtures.fileNames() {
            let fixture = try UsageFixtures.load(name)
            let raw = try UsageStreamText.jsonData(fixture.response)
            let outcome = UsageResolution.resolve(
                LLMResponse(raw: raw), provider: fixture.providerName, promptEstimate: nil, outputText: nil,
                estimator: Self.estimator)
            #expect(Self.recorded(outcome) == fixture.expected, "\(name)")
        }
    }
}

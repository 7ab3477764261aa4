import Foundation
import RedisTestSupport
import Testing

/// `tokenledger extract` and `record --response` on responses that were billed: recorded by what they
/// say, never refused; only a total without its split is refused (exit 65).
@Suite("tokenledger extract: billed responses are never refused")
struct ExtractCommandTests {
    static let xai =
        #"{"object":"chat.completion","model":"grok-3-mini","usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":303,"completion_tokens_details":{"reasoning_tokens":290}}}"#
    static let ollamaWithoutPromptCount =
        #"{"model":"llama3.2","created_at":"2025-11-03T10:15:42Z","message":{"role":"assistant","content":"x"},"done":true,"eval_count":173}"#

    @Test("xAI reasoning outside completion_tokens: exit 0, output = completion + reasoning")
    func xaiReasoning() async throws {
        let result = try await CLI.run(["extract"], stdin: Self.xai)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout
                == #"{"cache_write_tokens":null,"cached_input_tokens":null,"input_tokens":12,"output_tokens":291,"reasoning_tokens":290,"source":"reported","total_tokens":303}"#
                + "\n")
        let named = try await CLI.run(["extract", "--provider", "xai"], stdin: Self.xai)
        #expect(named.status == 0 && named.stdout == result.stdout, "\(named.stderr)")
    }

    @Test("Anthropic usage.iterations: exit 0, the sum over every iteration")
    func anthropicIterations() async throws {
        let body =
            #"{"type":"message","usage":{"input_tokens":23000,"output_tokens":1000,"iterations":[{"type":"compaction","input_tokens":180000,"output_tokens":3500},{"type":"message","input_tokens":23000,"output_tokens":1000}]}}"#
        let result = try await CLI.run(["extract"], stdin: body)
        #expect(result.status == 0, "\(result.stderr)")
        let record = try jsonObject(result.stdout)
        #expect(
            record["input_tokens"] as? Int == 203_000 && record["output_tokens"] as? Int == 4500, "\(result.stdout)")
    }

    @Test("Ollama without prompt_eval_count: exit 0, the output recorded, input 0 marked estimated, a note on stderr")
    func ollamaWithoutPromptCount() async throws {
        let result = try await CLI.run(["extract"], stdin: Self.ollamaWithoutPromptCount)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout
                == #"{"cache_write_tokens":null,"cached_input_tokens":null,"input_tokens":0,"output_tokens":173,"reasoning_tokens":null,"source":"estimated","total_tokens":173}"#
                + "\n")
        #expect(result.stderr.contains("prompt_eval_count") && result.stderr.contains("estimated"), "\(result.stderr)")
    }

    @Test("only a total: extract keeps its clear refusal, exit 65 naming the total")
    func totalOnlyRefused() async throws {
        let result = try await CLI.run(["extract"], stdin: #"{"content":"x","tokens_used":1262}"#)
        #expect(result.status == 65)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("only a total of 1262 tokens"), "\(result.stderr)")
        #expect(result.stderr.contains("--input") && result.stderr.contains("--output"), "\(result.stderr)")
    }

    @Test("record --response records an Ollama response without prompt_eval_count instead of refusing it")
    func recordOllamaWithoutPromptCount() async throws {
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "extract-cli"]
            let result = try await CLI.run(
                ["record", "olly", "--response", "-", "--call-id", "o1"], environment: env,
                stdin: Self.ollamaWithoutPromptCount)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains(#""total_tokens":173"#), "\(result.stdout)")
            let usage = try jsonObject(
                try await CLI.run(["usage", "olly", "--format", "json"], environment: env).stdout)
            #expect(usage["input_tokens"] as? Int == 0 && usage["output_tokens"] as? Int == 173, "\(usage)")
            let refused = try await CLI.run(
                ["record", "olly", "--response", "-", "--call-id", "o2"], environment: env,
                stdin: #"{"tokens_used":50}"#)
            #expect(refused.status == 65 && refused.stderr.contains("only a total of 50 tokens"), "\(refused.stderr)")
            let after = try jsonObject(
                try await CLI.run(["usage", "olly", "--format", "json"], environment: env).stdout)
            #expect(after["total_tokens"] as? Int == 173 && after["calls"] as? Int == 1, "\(after)")
        }
    }
}

import BytePairEncoding
import Foundation
import Testing
import TokenLedger

/// The bpe-openai rank file directory: TOKENLEDGER_BPE_DIR, else asked of python3 (scripts/bpe_reference.py).
func bpeRankDirectory() throws -> String {
    if let configured = ProcessInfo.processInfo.environment["TOKENLEDGER_BPE_DIR"], !configured.isEmpty {
        return configured
    }
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/bpe_reference.py").path
    let process = Process()
    let out = Pipe()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script, "locate"]
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    struct Located: Decodable { var directory: String }
    guard process.terminationStatus == 0, let located = try? JSONDecoder().decode(Located.self, from: data) else {
        throw RankFileError(
            code: .fileNotFound, path: "bpe-openai",
            message: "cannot locate bpe-openai's rank files: pip install tiktoken bpe-openai")
    }
    return located.directory
}

@Suite("Exact counting in handlers and the guard")
struct ExactCountingTests {
    @Test("models map to their encoding; counts are the encoder's; unknown directories fall back to the heuristic")
    func choosing() throws {
        let directory = try bpeRankDirectory()
        let counting = TokenCounting(directory: directory)
        let o200k = try BytePairEncoder(encoding: .o200kBase, directory: directory)
        let cl100k = try BytePairEncoder(encoding: .cl100kBase, directory: directory)
        let text = "Quota checks happen before the call. 配额在调用之前检查。 let x = [1, 2, 3]"
        #expect(counting.estimator(forModel: "gpt-4o-mini").countTokens(in: text) == o200k.count(text))
        #expect(counting.estimator(forModel: "o3").countTokens(in: text) == o200k.count(text))
        #expect(counting.estimator(forModel: "gpt-4-0613").countTokens(in: text) == cl100k.count(text))
        #expect(o200k.count(text) != cl100k.count(text))
        #expect(TokenCounting.heuristic.estimator(forModel: "gpt-4o") is HeuristicTokenEstimator)
        let missing = TokenCounting(directory: "/nonexistent")
        #expect(missing.estimator(forModel: "gpt-4o") is HeuristicTokenEstimator)
        #expect { _ = try missing.exactEstimator(for: .o200kBase) } throws: { error in
            "\(error)".contains("/nonexistent")
        }
        #expect(TokenCounting.fromEnvironment(["TOKENLEDGER_BPE_DIR": directory]).directory == directory)
        #expect(TokenCounting.fromEnvironment([:]).directory == nil)
    }

    @Test("the detailed handler splits a total with the exact prompt count when a rank file is configured")
    func handlerUsesExactCounts() async throws {
        let directory = try bpeRankDirectory()
        let counting = TokenCounting(directory: directory)
        try await withRepository { repository async throws in
            let start = Date()
            let handler = DetailedRedisTokenCallbackHandler(repository: repository, counting: counting)
            let messages = [ChatMessage(role: "user", content: "Summarise the invoice dispute in three bullet points.")]
            let context = LLMCallContext(runID: "exact", user: "x", provider: "openai", model: "gpt-4o")
            try await handler.onLLMStart(messages: messages, context: context)
            await handler.onLLMEnd(response: LLMResponse(totalTokens: 500), context: context)
            let exactPrompt = try counting.exactEstimator(for: .o200kBase).countTokens(in: messages)
            let encoder = try BytePairEncoder(encoding: .o200kBase, directory: directory)
            #expect(exactPrompt == encoder.countChat(messages))
            let usage = try await usageSince(start, user: "x", in: repository)
            #expect(usage.inputTokens == exactPrompt && usage.outputTokens == 500 - exactPrompt)
        }
    }
}

// Records an LLM call's usage the way an application does: a callback handler reads the provider's
// response body and records its usage for the user's current billing cycle, once per run id.
//
// Run: `swift build && .build/debug/record`. REDIS_URL (default redis://127.0.0.1:6379) says which
// server, TOKENLEDGER_NAMESPACE (default `snippets`) which key prefix.

// snippet.hide
import Foundation
import RedisClient
import TokenLedger

let environment = ProcessInfo.processInfo.environment
let namespace = environment["TOKENLEDGER_NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 } ?? "snippets"
do {
    // snippet.show
    let configuration = try await TokenLedgerConfiguration.load(namespace: namespace)
    let pool = RedisConnectionPool(configuration: configuration.redis)
    let ledger = try TokenRepository(pool: pool, configuration: configuration.ledger)
    // In production give the recorder an EventSpool, so that no event is lost while Redis is down.
    let recorder = UsageRecorder(repository: ledger)
    let handler = RedisTokenCallbackHandler(recorder: recorder)

    // An OpenAI chat completion, as the provider returned it.
    let body = Data(
        #"{"model":"gpt-4o","usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":200}}}"#
            .utf8)
    let context = LLMCallContext(runID: "run-\(UUID().uuidString)", user: "alice", provider: "openai", model: "gpt-4o")

    await recorder.withRunning {
        await handler.onLLMEnd(response: LLMResponse(raw: body), context: context)
        // A retried callback (same run id) changes nothing: the run id is the call id.
        await handler.onLLMEnd(response: LLMResponse(raw: body), context: context)
    }

    let usage = try await ledger.usage(user: "alice")
    print("recorded run \(context.runID) for alice in cycle \(usage.cycle)")
    print(
        "alice: \(usage.counts.inputTokens) input (\(usage.counts.cachedInputTokens ?? 0) cached), "
            + "\(usage.counts.outputTokens) output, \(usage.counts.calls) calls")
    // snippet.hide
    await pool.close()
} catch {
    // A snippet that cannot reach Redis (or is refused) says why and exits 1; it never traps.
    FileHandle.standardError.write(Data("record: \(error)\n".utf8))
    exit(1)
}

// Guards an LLM call with the user's quota: QuotaGuard reserves the prompt's tokens plus the most
// output the call may produce, calls the model only when the limit admits that, and settles the
// actual usage afterwards (or releases the reservation when the call fails).
//
// Run: `swift build && .build/debug/quota-guard`. REDIS_URL (default redis://127.0.0.1:6379) says
// which server, TOKENLEDGER_NAMESPACE (default `snippets`) which key prefix.

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
    try await ledger.setLimit(user: "bob", tokens: 5_000)
    // snippet.hide
    _ = try await ledger.reset(user: "bob")  // so that a second run starts from the same usage
    // snippet.show

    let guardian = QuotaGuard(repository: ledger, whenUnavailable: .failClosed)
    let messages = [ChatMessage(role: "user", content: "Summarize our billing policy in one paragraph.")]

    /// One guarded call: the closure stands for the model call and returns its answer and billed usage.
    func ask(maxOutputTokens: Int) async throws -> String {
        let context = LLMCallContext(
            runID: "run-\(UUID().uuidString)", user: "bob", provider: "openai", model: "gpt-4o")
        return try await guardian.run(context: context, messages: messages, maxOutputTokens: maxOutputTokens) {
            @Sendable in
            ("Usage is metered per billing cycle.", UsageRecord(inputTokens: 40, outputTokens: 900))
        }
    }

    print("answer: \(try await ask(maxOutputTokens: 1_000))")
    do {
        _ = try await ask(maxOutputTokens: 10_000)  // more than the limit admits: the model is not called
    } catch let denied as QuotaExceededError {
        let decision = denied.decision
        print("denied: bob asked for \(decision.requested) tokens; used \(decision.used) of \(decision.limit ?? 0)")
    }
    // snippet.hide
    await pool.close()
} catch {
    // A snippet that cannot reach Redis (or is refused) says why and exits 1; it never traps.
    FileHandle.standardError.write(Data("quota-guard: \(error)\n".utf8))
    exit(1)
}

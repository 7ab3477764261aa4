import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

@Suite("Callback handlers with a quota guard surface denials at start")
struct HandlerAdmissionTests {
    @Test("the start hook of both handlers throws the denial: its scope, its limit and retry_after_ms")
    func startHookSurfacesDenials() async throws {
        try await withRepository { repository async throws in
            _ = try await repository.setMembership(user: "h", team: "ht", org: nil)
            try await repository.setRateLimit(scope: .team("ht"), tpm: nil, rpm: 1)
            #expect(
                try await repository.reserve(user: "h", callID: "first", tokens: 1, at: testInstant).status
                    == .admitted)
            let quota = QuotaGuard(repository: repository, counting: .heuristic)
            let recorder = UsageRecorder(repository: repository)
            let handlers: [any LLMCallbackHandler] = [
                RedisTokenCallbackHandler(recorder: recorder, counting: .heuristic, quota: quota),
                DetailedRedisTokenCallbackHandler(recorder: recorder, counting: .heuristic, quota: quota),
            ]
            let messages = [ChatMessage(role: "user", content: "hello there")]
            for handler in handlers {
                let context = LLMCallContext(runID: "second", user: "h")
                let error = await #expect(throws: QuotaExceededError.self) {
                    try await handler.onLLMStart(messages: messages, context: context)
                }
                #expect(error?.decision.deniedScope == "team:ht" && error?.decision.deniedBy == .rpm, "\(handler)")
                #expect(error?.decision.rpm == 1 && error?.retryAfter != nil, "\(handler)")
                #expect(error?.description.contains("team:ht: the rate limit (rpm)") == true, "\(handler)")
            }
            // The check held nothing and charged nothing.
            #expect(try await repository.usage(scope: .team("ht"), at: testInstant).reserved == 1)
            #expect(try await repository.check(user: "h", tokens: 0, at: testInstant).windowRequests == 1)

            // A token limit denies with its own name; without a guard the start hook admits everything.
            try await repository.setRateLimit(scope: .team("ht"), tpm: nil, rpm: 100)
            try await repository.setLimit(user: "h", tokens: 2)
            let context = LLMCallContext(runID: "third", user: "h")
            let error = await #expect(throws: QuotaExceededError.self) {
                try await handlers[0].onLLMStart(messages: messages, context: context)
            }
            #expect(error?.decision.deniedBy == .tokens && error?.decision.deniedScope == "user:h")
            #expect(error?.retryAfter == nil)
            try await RedisTokenCallbackHandler(recorder: recorder, counting: .heuristic)
                .onLLMStart(messages: messages, context: context)
            try await DetailedRedisTokenCallbackHandler(recorder: recorder, counting: .heuristic)
                .onLLMStart(messages: messages, context: context)
        }
    }
}

import Dispatch
import Foundation
import MetricsTestKit
import RedisClient
import RedisTestSupport
import Synchronization
import Testing
import TokenLedger

@Suite("Callback handlers")
struct HandlerTests {
    @Test("one detailed handler, 1,000 concurrent calls with distinct run ids: totals exact, no state mixed up")
    func concurrentCalls() async throws {
        try await withRepository { repository async throws in
            let start = Date()
            let metrics = TestMetrics()
            let handler = DetailedRedisTokenCallbackHandler(
                repository: repository, counting: .heuristic, metrics: LedgerMetrics(factory: metrics))
            let estimator = HeuristicTokenEstimator()
            var expected: [String: (input: Int, output: Int)] = [:]
            try await withThrowingTaskGroup(of: (String, Int, Int).self) { group in
                for index in 0..<1000 {
                    group.addTask {
                        let user = "user-\(index % 7)"
                        let context = LLMCallContext(
                            runID: "run-\(index)", user: user, provider: "openai", model: "m\(index % 3)")
                        let messages = [
                            ChatMessage(role: "user", content: String(repeating: "word ", count: index % 50 + 1))
                        ]
                        try await handler.onLLMStart(messages: messages, context: context)
                        let streamed = String(repeating: "tok ", count: index % 11)
                        for piece in streamed.split(separator: " ") {
                            await handler.onLLMNewToken(String(piece) + " ", context: context)
                        }
                        let response: LLMResponse
                        let counted: (Int, Int)
                        switch index % 3 {
                        case 0:  // reported usage
                            response = LLMResponse(usage: UsageRecord(inputTokens: index, outputTokens: 2 * index))
                            counted = (index, 2 * index)
                        case 1:  // a total only: split with the start estimate
                            let prompt = estimator.countTokens(in: messages)
                            let total = prompt + 40
                            response = LLMResponse(totalTokens: total)
                            counted = (prompt, 40)
                        default:  // nothing reported: estimated from prompt and streamed text
                            response = LLMResponse()
                            counted = (estimator.countTokens(in: messages), estimator.countTokens(in: streamed))
                        }
                        await handler.onLLMEnd(response: response, context: context)
                        return (user, counted.0, counted.1)
                    }
                }
                for try await (user, input, output) in group {
                    let old = expected[user] ?? (0, 0)
                    expected[user] = (old.input + input, old.output + output)
                }
            }
            #expect(metrics.handlerCalls("recorded") == 1000 && metrics.handlerCalls("failed") == 0)
            #expect(metrics.meterValue("tokenledger_handler_calls_in_flight") == 0)
            #expect(metrics.counterValue("tokenledger_handler_estimated_total") == 666)
            for (user, totals) in expected {
                let usage = try await usageSince(start, user: user, in: repository)
                #expect(usage.inputTokens == totals.input, "\(user)")
                #expect(usage.outputTokens == totals.output, "\(user)")
            }
            // A replay of an ended call (same run id, the same usage) does not count again.
            await handler.onLLMEnd(
                response: LLMResponse(usage: UsageRecord(inputTokens: 0, outputTokens: 0)),
                context: LLMCallContext(runID: "run-0", user: "user-0"))
            #expect(metrics.handlerCalls("duplicate") == 1)
        }
    }

    @Test("the basic handler records raw provider responses and never throws when Redis is gone")
    func basicHandler() async throws {
        try await withRepository { repository async throws in
            let start = Date()
            let metrics = TestMetrics()
            let handler = RedisTokenCallbackHandler(
                repository: repository, counting: .heuristic, metrics: LedgerMetrics(factory: metrics))
            let raw = Data(#"{"usage":{"prompt_tokens":11,"completion_tokens":4,"total_tokens":15}}"#.utf8)
            await handler.onLLMEnd(
                response: LLMResponse(raw: raw), context: LLMCallContext(runID: "a", user: "b", provider: "openai"))
            #expect(try await usageSince(start, user: "b", in: repository).totalTokens == 15)
            await handler.onLLMEnd(
                response: LLMResponse(raw: Data("not json".utf8)), context: LLMCallContext(runID: "c", user: "b"))
            #expect(metrics.handlerCalls("failed") == 1)
            await repository.pool.close()
            await handler.onLLMEnd(
                response: LLMResponse(usage: UsageRecord(inputTokens: 1, outputTokens: 1)),
                context: LLMCallContext(runID: "d", user: "b"))
            #expect(metrics.handlerCalls("failed") == 2)
        }
    }

    @Test("a composite with a throwing and a hanging handler returns at the timeout and the third still records")
    func compositeIsolation() async throws {
        try await withRepository { repository async throws in
            let recorder = RedisTokenCallbackHandler(repository: repository, counting: .heuristic)
            // Connected and scripts loaded, so the recorder's one write is quick even on a loaded machine.
            _ = try await repository.record(
                user: "warm-up", callID: "w", usage: UsageRecord(inputTokens: 1, outputTokens: 0))
            let start = Date()
            let hanging = HangingHandler()
            let composite = CompositeCallbackHandler([ThrowingHandler(), hanging, recorder], timeout: .seconds(2))
            await composite.onLLMEnd(
                response: LLMResponse(usage: UsageRecord(inputTokens: 3, outputTokens: 4)),
                context: LLMCallContext(runID: "x", user: "composite"))
            // The hanging handler blocks its thread until released below: the composite returned
            // without waiting for it, and counted it as timed out.
            #expect(!hanging.finished.isSet)
            #expect(composite.failures.timeouts == [0, 1, 0])
            #expect(composite.failures.errors == [1, 0, 0])
            #expect(try await usageSince(start, user: "composite", in: repository).totalTokens == 7)
            hanging.release()
            #expect(await waitUntil { hanging.finished.isSet })
        }
    }
}

/// A handler whose end callback always throws.
struct ThrowingHandler: LLMCallbackHandler {
    struct Boom: Error {}
    func onLLMEnd(response: LLMResponse, context: LLMCallContext) async throws { throw Boom() }
}

/// A misbehaving handler: its end callback blocks its thread, ignoring cancellation, until the
/// test releases it (or 10 minutes pass, so that a failed test cannot leave it blocked forever).
final class HangingHandler: LLMCallbackHandler, Sendable {
    let finished = Flag()
    private let gate = DispatchSemaphore(value: 0)

    func onLLMEnd(response: LLMResponse, context: LLMCallContext) async throws {
        _ = gate.wait(timeout: .now() + .seconds(600))
        finished.set()
    }

    /// Lets the blocked callback return.
    func release() { gate.signal() }
}

/// Called-or-not flag shared with a closure.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

@Suite("Quota guard")
struct QuotaGuardTests {
    @Test("a user at the limit is refused before the closure runs")
    func refused() async throws {
        try await withRepository { repository async throws in
            try await repository.setLimit(user: "full", tokens: 100)
            _ = try await repository.record(
                user: "full", callID: "past", usage: UsageRecord(inputTokens: 100, outputTokens: 0))
            let guardian = QuotaGuard(repository: repository, counting: .heuristic)
            let called = Flag()
            await #expect {
                _ = try await guardian.run(
                    context: LLMCallContext(user: "full"), messages: [ChatMessage(role: "user", content: "hi")],
                    maxOutputTokens: 10
                ) {
                    called.set()
                    return ("never", UsageRecord(inputTokens: 1, outputTokens: 1))
                }
            } throws: { error in
                let error = try #require(error as? QuotaExceededError)
                return !error.decision.allowed && error.decision.used == 100 && error.decision.limit == 100
            }
            #expect(!called.isSet)
        }
    }

    @Test("a call admitted is settled with its actual usage")
    func settles() async throws {
        try await withRepository { repository async throws in
            try await repository.setLimit(user: "ok", tokens: 10_000)
            let guardian = QuotaGuard(repository: repository, counting: .heuristic)
            let result = try await guardian.run(
                context: LLMCallContext(runID: "g1", user: "ok", model: "gpt-4o"),
                messages: [ChatMessage(role: "user", content: "hello there")], maxOutputTokens: 500
            ) {
                let reserved = try await repository.check(user: "ok").reserved
                return (reserved, UsageRecord(inputTokens: 12, outputTokens: 30))
            }
            #expect(result > 500)  // the estimate was reserved while the call ran
            let after = try await repository.check(user: "ok")
            #expect(after.used == 42 && after.reserved == 0)
        }
    }

    @Test("an error inside the call releases the reservation; so does cancellation")
    func releases() async throws {
        try await withRepository { repository async throws in
            try await repository.setLimit(user: "r", tokens: 10_000)
            let guardian = QuotaGuard(repository: repository, counting: .heuristic)
            struct ModelDown: Error {}
            await #expect(throws: ModelDown.self) {
                _ = try await guardian.run(
                    context: LLMCallContext(user: "r"), messages: [ChatMessage(role: "user", content: "x")],
                    maxOutputTokens: 100
                ) { () async throws -> (Int, UsageRecord) in throw ModelDown() }
            }
            #expect(try await repository.check(user: "r").reserved == 0)

            let started = Flag()
            let task = Task {
                try await guardian.run(
                    context: LLMCallContext(user: "r"), messages: [ChatMessage(role: "user", content: "x")],
                    maxOutputTokens: 100
                ) { () async throws -> (Int, UsageRecord) in
                    started.set()
                    try await Task.sleep(for: .seconds(30))
                    return (1, UsageRecord(inputTokens: 1, outputTokens: 1))
                }
            }
            #expect(await waitUntil { started.isSet })
            #expect(try await repository.check(user: "r").reserved > 0)
            task.cancel()
            await #expect(throws: CancellationError.self) { _ = try await task.value }
            #expect(try await repository.check(user: "r").reserved == 0)
            #expect(try await repository.usage(user: "r").totalTokens == 0)
        }
    }
}

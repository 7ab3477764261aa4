import ArgumentParser
import Foundation
import Logging
import RedisClient
import TokenLedger

/// `tokenledger demo`: a simulated workload through the handlers and the quota guard, then a report.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a simulated workload of a few users through the handlers and the quota guard, then report.",
        discussion: """
            Uses (and first empties) the namespace 'demo' unless --namespace names another one starting with \
            'demo'. --format json or csv prints only the final report on stdout (the narrative goes to stderr).
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: FormatOptions

    /// The demo's namespace: --namespace, else `demo` (not $TOKENLEDGER_NAMESPACE: the demo empties it).
    private var namespace: String { global.namespace ?? "demo" }

    @Option(help: "Calls per user.")
    var calls = 12

    func validate() throws {
        guard namespace.hasPrefix("demo") else {
            throw ArgumentParser.ValidationError("the demo empties its namespace first, so it must start with 'demo'")
        }
        guard (1...1000).contains(calls) else { throw ArgumentParser.ValidationError("--calls must be 1…1000") }
    }

    func run() async throws {
        try await reportingFailures {
            let formatter = try output.formatter()
            // The narrative is the table output; with json or csv only the report is on stdout.
            let narrates = formatter.format == .table
            func say(_ line: String) { if narrates { print(line) } else { printError(line) } }
            let redisConfiguration = try await global.redisConfiguration()
            let pool = RedisConnectionPool(configuration: redisConfiguration)
            let repository = try TokenRepository(pool: pool, configuration: try LedgerConfiguration(namespace: namespace))
            try await emptyNamespace(pool: pool, namespace: namespace)

            let users: [(name: String, limit: Int?)] = [("alice", 20_000), ("bob", 3_200), ("carol", 1_500), ("dave", nil)]
            for user in users {
                if let limit = user.limit { try await repository.setLimit(user: user.name, tokens: limit) }
            }
            let quiet = Logger(label: "tokenledger.demo", factory: { _ in SwiftLogNoOpLogHandler() })
            // The handler's figures are metrics; the demo reads its own in-process for its summary line.
            let metrics = InProcessMetrics()
            let detailed = DetailedRedisTokenCallbackHandler(
                repository: repository, metrics: LedgerMetrics(factory: metrics), logger: quiet)
            let handlers = CompositeCallbackHandler([detailed], logger: quiet)
            let guardian = QuotaGuard(repository: repository, logger: quiet)
            say("demo: \(users.count) users × \(calls) calls through the quota guard and the detailed handler")
            say("      (namespace '\(namespace)' at \(redisConfiguration.endpoint))")

            let outcomes = await withTaskGroup(of: (String, Int, [String]).self) { group in
                for user in users {
                    group.addTask {
                        var served = 0
                        var notes: [String] = []
                        for index in 0..<calls {
                            let context = LLMCallContext(
                                runID: "\(user.name)-\(index)", user: user.name, provider: "openai", model: index % 3 == 0 ? "gpt-4o" : "gpt-4o-mini")
                            let messages = SimulatedModel.prompt(for: user.name, index: index)
                            do {
                                _ = try await guardian.run(context: context, messages: messages, maxOutputTokens: 300) {
                                    try await SimulatedModel.call(messages: messages, context: context, handler: handlers, index: index)
                                }
                                served += 1
                            } catch let error as QuotaExceededError {
                                notes.append("blocked before call \(index + 1): \(sentence(for: error))")
                                break
                            } catch {
                                notes.append("call \(index + 1) failed: \(sentence(for: error))")
                            }
                        }
                        return (user.name, served, notes)
                    }
                }
                var all: [(String, Int, [String])] = []
                for await outcome in group { all.append(outcome) }
                return all.sorted { $0.0 < $1.0 }
            }
            for (user, served, notes) in outcomes {
                say("\(user): \(served) calls served")
                for note in notes { say("  \(note)") }
                for event in try await repository.events(user: user) where event["type"] == "threshold" {
                    say("  threshold event: \(event["threshold"] ?? "?") % of \(event["limit"] ?? "?") reached at \(event["used"] ?? "?") tokens")
                }
            }
            let figures = metrics.snapshot
            func handled(_ result: String) -> Int64 { figures.counter("tokenledger_handler_calls_total", [("result", result)]) }
            let estimated = figures.counter("tokenledger_handler_estimated_total")
            say("handler: \(handled("recorded")) recorded (\(estimated) estimated), \(handled("duplicate")) duplicates, \(handled("failed")) failed")
            say("")
            let report = try await repository.report()
            var rows = [["user", "input", "output", "total", "calls", "limit", "remaining"]]
            for usage in report.users {
                rows.append([
                    usage.user, String(usage.inputTokens), String(usage.outputTokens), String(usage.totalTokens),
                    String(usage.calls), usage.limit.map(String.init) ?? "unlimited", usage.remaining.map(String.init) ?? "-",
                ])
            }
            rows.append(["TOTAL", String(report.totals.inputTokens), String(report.totals.outputTokens), String(report.totals.totalTokens), String(report.totals.calls), "", ""])
            if formatter.format == .table {
                say("report for cycle \(report.cycle)")
                print(alignedColumns(rows), terminator: "")
            } else {
                try formatter.print(report)
            }
            await pool.close()
        }
    }

    private func emptyNamespace(pool: RedisConnectionPool, namespace: String) async throws {
        var cursor = "0"
        repeat {
            let reply = try await pool.send(RedisCommand("SCAN", cursor, "MATCH", namespace + ":*", "COUNT", 1000))
            let parts = reply.array ?? []
            cursor = parts.first?.string ?? "0"
            let keys = (parts.count > 1 ? parts[1].array ?? [] : []).compactMap(\.bytes)
            if !keys.isEmpty { _ = try await pool.send(RedisCommand("UNLINK", keys)) }
        } while cursor != "0"
    }
}

/// A pretend LLM: answers with OpenAI-shaped responses (some streamed, some with only a total).
enum SimulatedModel {
    static func prompt(for user: String, index: Int) -> [ChatMessage] {
        let topics = ["invoice totals", "a refund policy", "量子计算的基本原理", "a SQL query plan", "{\"order\": 42, \"items\": 3}"]
        return [
            ChatMessage(role: "system", content: "You are a helpful assistant for \(user)."),
            ChatMessage(role: "user", content: "Explain \(topics[index % topics.count]) in detail. " + String(repeating: "Please be thorough. ", count: index % 4 + 1)),
        ]
    }

    static func call(
        messages: [ChatMessage], context: LLMCallContext, handler: CompositeCallbackHandler, index: Int
    ) async throws -> (result: String, usage: UsageRecord) {
        await handler.onLLMStart(messages: messages, context: context)
        let estimator = HeuristicTokenEstimator()
        let prompt = estimator.countTokens(in: messages)
        let answer = String(repeating: "Here is a careful answer. ", count: 10 + (index * 7 + context.user.utf8.count * 11) % 40)
        let completion = estimator.countTokens(in: answer)
        let usage = UsageRecord(inputTokens: prompt, outputTokens: completion, cachedInputTokens: index % 2 == 0 ? 0 : prompt / 2)
        let response: LLMResponse
        switch index % 4 {
        case 0:  // a raw provider body
            let body = #"{"model":"\#(context.model)","usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":\#(prompt + completion),"prompt_tokens_details":{"cached_tokens":\#(usage.cachedInputTokens ?? 0)}}}"#
            response = LLMResponse(raw: Data(body.utf8))
        case 1:  // a stream without usage: the handler estimates from what streamed
            for word in answer.split(separator: " ") { await handler.onLLMNewToken(word + " ", context: context) }
            response = LLMResponse()
        case 2:  // the seed's dict with only a total: split with the start estimate
            response = LLMResponse(totalTokens: prompt + completion)
        default:
            response = LLMResponse(usage: usage)
        }
        try await Task.sleep(for: .milliseconds(5))
        await handler.onLLMEnd(response: response, context: context)
        return (answer, usage)
    }
}

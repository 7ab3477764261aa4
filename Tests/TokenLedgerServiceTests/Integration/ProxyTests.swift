import Foundation
import HTTPTypes
import RedisTestSupport
import Testing
import TokenLedger

@testable import TokenLedgerService

/// The proxy routes over HTTP, against the fake provider: headers each way, user selection, the
/// reservation, and what happens when the provider fails, stalls or is unreachable.
@Suite("Proxy routes")
struct ProxyTests {
    static var messages: [[String: Any]] {
        [
            ["role": "system", "content": "You answer in one word."],
            ["role": "user", "content": "What is the capital of France?"],
        ]
    }

    /// An OpenAI chat body.
    static func chat(user: String? = nil, model: String = "gpt-4o-mini", stream: Bool = false) -> String {
        var body: [String: Any] = ["model": model, "messages": messages, "max_tokens": 50]
        if let user { body["user"] = user }
        if stream { body["stream"] = true }
        return json(body)
    }

    /// A POST to a proxy route with the app key as a bearer token.
    static func post(
        _ harness: ProxyHarness, _ path: String = "/proxy/openai/v1/chat/completions", body: String,
        headers: HTTPFields = [:], key: String? = nil
    ) async throws -> Answer {
        try await harness.service.send(.post, path, key: .some(key ?? harness.appKey), body: body, headers: headers)
    }

    @Test("the provider's request id and rate-limit headers pass, others do not; the remaining tokens are added")
    func headers() async throws {
        try await withProxy { harness in
            try await harness.service.repository.setLimit(user: "h-user", tokens: 100_000)
            let body = Self.chat(user: "h-user")
            let answer = try await Self.post(
                harness, body: body, headers: [HTTPField.Name("X-Custom-Trace")!: "trace-1"])
            #expect(answer.status == 200, "\(answer.text)")
            #expect(answer.header(FakeProvider.requestID) == "req_fake_1")
            #expect(answer.header(FakeProvider.rateLimit) == "59")
            #expect(answer.header(FakeProvider.secretHeader) == nil, "a provider header that is not allowed passed")
            #expect(answer.header(ProxyHeaders.callID)?.hasPrefix("proxy-") == true)
            // The harness counts with the heuristic: the reservation holds its estimate plus the
            // safety margin (issue 19), which an unbiased count lacks.
            let conversation = [
                ChatMessage(role: "system", content: "You answer in one word."),
                ChatMessage(role: "user", content: "What is the capital of France?"),
            ]
            let estimator = TokenCounting.heuristic.estimator(forModel: "gpt-4o-mini")
            let reserved = estimator.reservationCount(in: conversation)
            #expect(reserved > estimator.countTokens(in: conversation), "the margin is not zero on this text")
            #expect(answer.header(ProxyHeaders.remainingTokens) == String(100_000 - reserved - 50))
            #expect(answer.header(ProxyHeaders.remainingUSD) == nil, "no currency limit, no dollar header")
            let received = try #require(harness.fake.received.last)
            #expect(received.body == Array(body.utf8), "a non-stream body was changed")
            // A JSON answer of announced length is passed whole, in one write with its length.
            #expect(answer.header(.contentLength) == String(answer.text.utf8.count))
            #expect(answer.header(.transferEncoding) == nil)
            #expect(try await harness.settledUsage("h-user").reserved == 0, "the settle replaced the lease")
            #expect(received.headers[HTTPField.Name("X-Custom-Trace")!] == "trace-1")
            #expect(received.headers[.acceptEncoding] == "identity")
            #expect(received.headers[.authorization] == "Bearer \(ProxyHarness.openAIKey)")
        }
    }

    @Test("X-TokenLedger-User wins over the body's user and is not forwarded")
    func userHeaderWins() async throws {
        try await withProxy { harness in
            let answer = try await Self.post(
                harness, body: Self.chat(user: "body-user"), headers: [ProxyHeaders.user: "header-user"])
            #expect(answer.status == 200, "\(answer.text)")
            #expect(try await harness.settledUsage("header-user").counts.calls == 1)
            #expect(try await harness.usage("body-user").counts.calls == 0)
            #expect(harness.fake.received.last?.headers[ProxyHeaders.user] == nil)
        }
    }

    @Test("a request without a user is refused with a 400 problem naming user; the provider is not called")
    func missingUser() async throws {
        try await withProxy { harness in
            let answer = try await Self.post(harness, body: Self.chat())
            #expect(answer.status == 400, "\(answer.text)")
            #expect(answer.header(.contentType) == "application/problem+json")
            #expect(answer.json["field"] as? String == "user")
            let anthropic = try await Self.post(
                harness, "/proxy/anthropic/v1/messages",
                body: json(["model": "claude-opus-4-8", "max_tokens": 10, "messages": Array(Self.messages.suffix(1))]),
                headers: [HTTPField.Name("x-api-key")!: harness.appKey])
            #expect(anthropic.status == 400, "\(anthropic.text)")
            #expect(harness.fake.received.isEmpty)
            let malformed = try await Self.post(harness, body: "{\"model\": ")
            #expect(malformed.status == 400 && malformed.json["code"] as? String == "malformed_json")
            let wrongType = try await Self.post(
                harness, body: json(["model": "m", "messages": [], "user": "u", "max_tokens": "many"]))
            #expect(wrongType.status == 400 && wrongType.json["field"] as? String == "max_tokens")
            #expect(harness.fake.received.isEmpty)
        }
    }

    @Test("with a default user configured, a request without a user is booked to it")
    func defaultUser() async throws {
        try await withProxy(defaultUser: "team-default") { harness in
            let answer = try await Self.post(harness, body: Self.chat())
            #expect(answer.status == 200, "\(answer.text)")
            #expect(try await harness.settledUsage("team-default").counts.calls == 1)
        }
    }

    @Test("a key created with a default user books calls that name none to it, over the configured default")
    func keyDefaultUser() async throws {
        try await withProxy(defaultUser: "process-default") { harness in
            let created = try await harness.service.server.keyStore.create(
                name: "desk-app", role: .app, defaultUser: "desk-user")
            #expect(created.key.defaultUser == "desk-user")
            let answer = try await Self.post(harness, body: Self.chat(), key: created.secret)
            #expect(answer.status == 200, "\(answer.text)")
            #expect(try await harness.settledUsage("desk-user").counts.calls == 1)
            // A user the request names still wins; a key without a default user gets the process's.
            #expect(try await Self.post(harness, body: Self.chat(user: "named"), key: created.secret).status == 200)
            #expect(try await harness.settledUsage("named").counts.calls == 1)
            #expect(try await Self.post(harness, body: Self.chat()).status == 200)
            #expect(try await harness.settledUsage("process-default").counts.calls == 1)
            #expect(try await harness.usage("desk-user").counts.calls == 1)
            await #expect(throws: ValidationError.self) {
                _ = try await harness.service.server.keyStore.create(name: "r2", role: .read, defaultUser: "x")
            }
        }
    }

    @Test("a read key is refused (403) and no key is 401, before the provider is called")
    func roles() async throws {
        try await withProxy { harness in
            let read = try await Self.post(harness, body: Self.chat(user: "r"), key: harness.service.readKey)
            #expect(read.status == 403)
            let none = try await harness.service.send(
                .post, "/proxy/openai/v1/chat/completions", key: .some(nil), body: Self.chat(user: "r"))
            #expect(none.status == 401)
            #expect(harness.fake.received.isEmpty)
        }
    }

    @Test(
        "a user's dollar limit holds before the provider is called: the maximum output is priced, a call past it is 429"
    )
    func currencyLimit() async throws {
        try await withProxy { harness in
            try await harness.service.repository.setCurrencyLimit(user: "usd-user", usd: Cost(nanoUSD: 50_000_000))
            // gpt-4o-mini's default output rate is 0.60 USD per million: 100,000 output tokens are
            // $0.06 before the prompt, past the $0.05 limit.
            var body: [String: Any] = [
                "model": "gpt-4o-mini", "messages": Self.messages, "max_tokens": 100_000, "user": "usd-user",
            ]
            let before = harness.fake.received.count
            let denied = try await Self.post(harness, body: json(body))
            #expect(denied.status == 429, "\(denied.text)")
            #expect(harness.fake.received.count == before, "a call past the dollar limit reached the provider")
            body["max_tokens"] = 50
            let admitted = try await Self.post(harness, body: json(body))
            #expect(admitted.status == 200, "\(admitted.text)")
            // $0.05 less the reservation's price: the header says what the dollar limit leaves.
            let left = try #require(admitted.header(ProxyHeaders.remainingUSD), "no X-TokenLedger-Remaining-Usd")
            let leftCost = try Cost(parsing: left)
            #expect(leftCost.nanoUSD > 0 && leftCost.nanoUSD < 50_000_000, "\(left)")
            let usage = try await harness.settledUsage("usd-user")
            #expect(usage.counts.calls == 1 && usage.reservedUSD == .zero, "settled, its cost dropped from the lease")
            #expect((usage.money.cost?.nanoUSD ?? 0) > 0, "the call was billed in dollars")
        }
    }

    @Test("a provider error is passed on and the reservation released; nothing is billed")
    func upstreamError() async throws {
        try await withProxy { harness in
            let answer = try await Self.post(harness, body: Self.chat(user: "err-user", model: "fake-error-500"))
            #expect(answer.status == 500)
            #expect((answer.json["error"] as? [String: Any])?["message"] as? String == "fake internal error")
            #expect(answer.header(FakeProvider.requestID) == "req_fake")
            let usage = try await harness.usage("err-user")
            #expect(usage.counts.calls == 0)
            #expect(usage.reserved == 0, "the lease was not released")
        }
    }

    @Test("an unreachable provider is 502 upstream_unreachable, the reservation released")
    func unreachable() async throws {
        let port = try closedPort()
        try await withProxy(upstream: "http://127.0.0.1:\(port)/v1") { harness in
            let answer = try await Self.post(harness, body: Self.chat(user: "gone-user"))
            #expect(answer.status == 502, "\(answer.text)")
            #expect(answer.json["code"] as? String == "upstream_unreachable")
            #expect(!answer.text.contains(ProxyHarness.openAIKey))
            #expect(try await harness.usage("gone-user").reserved == 0)
        }
    }

    @Test("a stream that stalls past the read timeout ends, and an estimate is settled (no lease left)")
    func stall() async throws {
        try await withProxy(readTimeout: .seconds(2)) { harness in
            let answer = try await Self.post(
                harness, body: Self.chat(user: "stall-user", model: "fake-stall", stream: true))
            #expect(answer.status == 200)
            #expect(answer.text.contains("Paris"), "the events before the stall were not passed on")
            let settled = try await waitUntil(timeout: .seconds(60)) {
                try await harness.usage("stall-user").counts.calls == 1
            }
            #expect(settled)
            let usage = try await harness.usage("stall-user")
            #expect(usage.reserved == 0)
            #expect(usage.counts.outputTokens >= 1, "the streamed text was not counted")
            let metrics = try await harness.service.send(.get, "/metrics", key: .some(nil))
            #expect(metrics.text.contains(#"outcome="estimated""#))
            // The notice is logged once the settle returned, a moment after the counters show it.
            #expect(await waitUntil(timeout: .seconds(30)) { harness.logsContain("settled with an estimate") })
        }
    }

    @Test("a client that leaves a stream with no usage in sight: read for the drain bound, then an estimate")
    func disconnectDrainBound() async throws {
        try await withProxy(drainTimeout: .seconds(1)) { harness in
            let result = try await SDKRunner.run(
                "openai-disconnect", user: "drain-user", harness: harness, model: "fake-endless")
            #expect(result.ok, "\(result.json)")
            let settled = try await waitUntil(timeout: .seconds(120)) {
                try await harness.usage("drain-user").counts.calls == 1
            }
            #expect(settled, "the call was never settled")
            #expect(try await harness.usage("drain-user").reserved == 0)
            #expect(harness.logsContain("client left mid-stream"))
            // The notice is logged once the settle returned, a moment after the counters show it.
            #expect(await waitUntil(timeout: .seconds(30)) { harness.logsContain("settled with an estimate") })
        }
    }

    @Test("Redis down, fail-closed: 503 and the provider is not called")
    func redisDownFailClosed() async throws {
        try await withProxy { harness in
            await harness.service.redis.stop()
            let answer = try await Self.post(harness, body: Self.chat(user: "down-user"))
            #expect(answer.status == 503, "\(answer.text)")
            #expect(harness.fake.received.isEmpty)
        }
    }

    @Test("Redis down, fail-open with a spool: forwarded unreserved, the settle spooled and replayed")
    func redisDownFailOpen() async throws {
        try await withProxy(spool: true, persistent: true, whenUnavailable: .failOpen) { harness in
            // The key is confirmed once, while Redis answers.
            #expect(try await Self.post(harness, body: Self.chat(user: "open-user")).status == 200)
            await harness.service.redis.stop()
            let answer = try await Self.post(harness, body: Self.chat(user: "open-user"))
            #expect(answer.status == 200, "\(answer.text)")
            #expect(harness.fake.received.count == 2)
            try await harness.service.redis.restart()
            let replayed = await waitUntil(timeout: .seconds(120)) {
                (try? await harness.usage("open-user").counts.calls) == 2
            }
            #expect(replayed, "the spooled settle was not replayed")
            #expect(harness.logsContain("fail-open"))
        }
    }
}

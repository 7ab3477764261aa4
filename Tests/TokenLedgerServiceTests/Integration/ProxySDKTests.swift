import Foundation
import RedisTestSupport
import Testing
import TokenLedger

@testable import TokenLedgerService

/// The official `openai` and `anthropic` Python SDKs with their `base_url` at the proxy, the fake
/// provider behind it: every call is admitted, forwarded with the proxy's provider key (never the
/// client's app key) and billed with exactly the provider's usage.
@Suite("Proxy with the official SDKs", .serialized)
struct ProxySDKTests {
    /// The user's cycle counters equal a fixture's expected record, as one call.
    func expectBilled(
        _ harness: ProxyHarness, user: String, fixture name: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let fixture = try FakeFixture.load(name)
        let usage = try await harness.settledUsage(user)
        #expect(usage.counts.inputTokens == fixture.expected("input_tokens"), sourceLocation: sourceLocation)
        #expect(usage.counts.outputTokens == fixture.expected("output_tokens"), sourceLocation: sourceLocation)
        #expect(
            (usage.counts.cachedInputTokens ?? 0) == (fixture.expected("cached_input_tokens") ?? 0),
            sourceLocation: sourceLocation)
        #expect(
            (usage.counts.reasoningTokens ?? 0) == (fixture.expected("reasoning_tokens") ?? 0),
            sourceLocation: sourceLocation)
        #expect(usage.counts.calls == 1, sourceLocation: sourceLocation)
        #expect(usage.reserved == 0, "the lease was replaced by the usage", sourceLocation: sourceLocation)
    }

    /// The fake's last request carried the proxy's provider key and not the app key.
    func expectProviderKey(_ harness: ProxyHarness, anthropic: Bool = false) throws {
        let received = try #require(harness.fake.received.last)
        if anthropic {
            #expect(received.headers[.init("x-api-key")!] == ProxyHarness.anthropicKey)
            #expect(received.headers[.authorization] == nil)
        } else {
            #expect(received.headers[.authorization] == "Bearer \(ProxyHarness.openAIKey)")
            #expect(received.headers[.init("x-api-key")!] == nil)
        }
        let all = received.headers.map { "\($0.name.rawName): \($0.value)" }.joined(separator: "\n")
        #expect(!all.contains(harness.appKey), "the client's app key reached the provider")
    }

    @Test("a chat completion is admitted, forwarded with the provider key and billed with the provider's usage")
    func chatCompletion() async throws {
        try await withProxy { harness in
            let result = try await SDKRunner.run("openai-chat", user: "sdk-alice", harness: harness)
            #expect(result.ok, "\(result.json)")
            #expect((result.usage?["prompt_tokens"] as? Int) == 2350)
            try await expectBilled(harness, user: "sdk-alice", fixture: "openai_chat_completion")
            try expectProviderKey(harness)
            #expect(harness.fake.received.last?.json["user"] as? String == "sdk-alice")
        }
    }

    @Test("a chat stream without include_usage: the proxy asks for the usage, bills it and hides its chunk")
    func chatStreamHidesUsage() async throws {
        try await withProxy { harness in
            let result = try await SDKRunner.run("openai-chat-stream", user: "sdk-bob", harness: harness)
            #expect(result.ok, "\(result.json)")
            #expect(result.json["usage_chunks"] as? Int == 0, "the client saw a chunk it did not ask for")
            #expect(result.json["chunks"] as? Int == 4)
            #expect(result.json["text"] as? String == "Paris is the capital of France.")
            let options = try #require(harness.fake.received.last?.json["stream_options"] as? [String: Any])
            #expect(options["include_usage"] as? Bool == true, "the upstream was not asked for the usage")
            try await expectBilled(harness, user: "sdk-bob", fixture: "openai_chat_stream")
            try expectProviderKey(harness)
        }
    }

    @Test("a chat stream with include_usage: the client gets its usage chunk, billed once")
    func chatStreamWithUsage() async throws {
        try await withProxy { harness in
            let result = try await SDKRunner.run("openai-chat-stream-usage", user: "sdk-carol", harness: harness)
            #expect(result.ok, "\(result.json)")
            #expect(result.json["usage_chunks"] as? Int == 1)
            #expect((result.usage?["prompt_tokens"] as? Int) == 1408)
            try await expectBilled(harness, user: "sdk-carol", fixture: "openai_chat_stream")
        }
    }

    @Test("a Responses call (user from the X-TokenLedger-User header) and a Responses stream are billed")
    func responses() async throws {
        try await withProxy { harness in
            let result = try await SDKRunner.run("openai-responses", user: "sdk-dave", harness: harness)
            #expect(result.ok, "\(result.json)")
            try await expectBilled(harness, user: "sdk-dave", fixture: "openai_responses")
            let streamed = try await SDKRunner.run("openai-responses-stream", user: "sdk-dave-2", harness: harness)
            #expect(streamed.ok, "\(streamed.json)")
            #expect((streamed.usage?["input_tokens"] as? Int) == 5120)
            try await expectBilled(harness, user: "sdk-dave-2", fixture: "openai_responses")
            try expectProviderKey(harness)
        }
    }

    @Test("an embeddings call is billed with its input tokens")
    func embeddings() async throws {
        try await withProxy { harness in
            let result = try await SDKRunner.run("openai-embeddings", user: "sdk-erin", harness: harness)
            #expect(result.ok, "\(result.json)")
            try await expectBilled(harness, user: "sdk-erin", fixture: "openai_embeddings")
        }
    }

    @Test("an Anthropic message and an Anthropic stream (user from metadata.user_id) are billed")
    func anthropic() async throws {
        try await withProxy { harness in
            let result = try await SDKRunner.run("anthropic-message", user: "sdk-frank", harness: harness)
            #expect(result.ok, "\(result.json)")
            try await expectBilled(harness, user: "sdk-frank", fixture: "anthropic_messages")
            try expectProviderKey(harness, anthropic: true)
            let streamed = try await SDKRunner.run("anthropic-stream", user: "sdk-grace", harness: harness)
            #expect(streamed.ok, "\(streamed.json)")
            #expect((streamed.usage?["output_tokens"] as? Int) == 612)
            try await expectBilled(harness, user: "sdk-grace", fixture: "anthropic_messages_stream")
            try expectProviderKey(harness, anthropic: true)
        }
    }

    @Test("a user over the limit gets the SDK's rate-limit error and the provider sees no request")
    func denied() async throws {
        try await withProxy { harness in
            try await harness.service.repository.setLimit(user: "sdk-poor", tokens: 100)
            let openAI = try await SDKRunner.run("openai-chat", user: "sdk-poor", harness: harness)
            #expect(openAI.error == "RateLimitError", "\(openAI.json)")
            #expect(openAI.status == 429)
            #expect(openAI.headers["x-should-retry"] == "false")
            let body = try #require(openAI.json["body"] as? [String: Any])
            // The SDK keeps the `error` member of OpenAI's shape as the error's body.
            #expect(body["code"] as? String == "quota_denied", "\(body)")
            #expect(body["type"] as? String == "insufficient_quota")
            let anthropic = try await SDKRunner.run("anthropic-message", user: "sdk-poor", harness: harness)
            #expect(anthropic.error == "RateLimitError", "\(anthropic.json)")
            let anthropicBody = try #require(anthropic.json["body"] as? [String: Any])
            #expect((anthropicBody["error"] as? [String: Any])?["type"] as? String == "rate_limit_error")
            #expect(harness.fake.received.isEmpty, "the provider was called for a denied user")
            let usage = try await harness.usage("sdk-poor")
            #expect(usage.counts.calls == 0 && usage.reserved == 0)
        }
    }

    @Test("an unknown app key is refused with the SDK's authentication error, and the provider sees nothing")
    func unknownKey() async throws {
        try await withProxy { harness in
            let result = try await SDKRunner.run("openai-chat", user: "sdk-x", harness: harness, key: "tl_not_a_key")
            #expect(result.error == "AuthenticationError" && result.status == 401, "\(result.json)")
            let anthropic = try await SDKRunner.run(
                "anthropic-message", user: "sdk-x", harness: harness, key: "tl_not_a_key")
            #expect(anthropic.error == "AuthenticationError", "\(anthropic.json)")
            #expect(harness.fake.received.isEmpty)
        }
    }

    @Test("a client that disconnects mid-stream is still billed with the provider's usage")
    func disconnect() async throws {
        try await withProxy { harness in
            let result = try await SDKRunner.run("openai-disconnect", user: "sdk-gone", harness: harness)
            #expect(result.ok, "\(result.json)")
            // The client is gone; now the provider goes on and sends its usage.
            harness.fake.openGate()
            let settled = try await waitUntil(timeout: .seconds(120)) {
                try await harness.usage("sdk-gone").counts.calls == 1
            }
            #expect(settled, "the disconnected call was never settled")
            try await expectBilled(harness, user: "sdk-gone", fixture: "openai_chat_stream")
        }
    }

    @Test("an Anthropic stream whose client leaves early is still billed with the provider's usage")
    func anthropicDisconnect() async throws {
        try await withProxy { harness in
            let result = try await SDKRunner.run("anthropic-disconnect", user: "sdk-gone-a", harness: harness)
            #expect(result.ok, "\(result.json)")
            harness.fake.openGate()
            let settled = try await waitUntil(timeout: .seconds(120)) {
                try await harness.usage("sdk-gone-a").counts.calls == 1
            }
            #expect(settled)
            try await expectBilled(harness, user: "sdk-gone-a", fixture: "anthropic_messages_stream")
        }
    }

    @Test("no provider key or app key appears in the service's logs or metrics")
    func noKeysLeak() async throws {
        try await withProxy { harness in
            _ = try await SDKRunner.run("openai-chat", user: "sdk-log", harness: harness)
            _ = try await SDKRunner.run("anthropic-stream", user: "sdk-log", harness: harness)
            _ = try await SDKRunner.run("openai-chat", user: "sdk-log", harness: harness, model: "fake-error-500")
            let metrics = try await harness.service.send(.get, "/metrics", key: .some(nil))
            #expect(metrics.text.contains("tokenledger_proxy_calls_total"))
            for secret in [ProxyHarness.openAIKey, ProxyHarness.anthropicKey, harness.appKey] {
                #expect(!harness.logsContain(secret))
                #expect(!metrics.text.contains(secret))
            }
        }
    }
}

import CoreMetrics
import Foundation
import HTTPTypes
import NIOHTTP1
import Testing
import TokenLedger

@testable import TokenLedgerService

@Suite("Proxy streams, headers and settings")
struct ProxyStreamTests {
    static let openAIStream =
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}],\"usage\":null}\n\n"
        + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"}}],\"usage\":null}\n\n"
        + "data: {\"choices\":[],\"model\":\"gpt-4o-2024-08-06\",\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15,\"prompt_tokens_details\":{\"cached_tokens\":4}}}\n\n"
        + "data: [DONE]\n\n"

    /// Runs a stream through a splitter and a tracker in chunks of `size` bytes; returns what the
    /// client would see and the tracker.
    func relay(
        _ text: String, endpoint: ProxyEndpoint, chunk size: Int, hiding: Bool
    ) -> (shown: String, tracker: ProxyUsageTracker) {
        var splitter = SSEEventSplitter()
        var tracker = ProxyUsageTracker(endpoint: endpoint, estimator: HeuristicTokenEstimator())
        var shown: [UInt8] = []
        let bytes = Array(text.utf8)
        var pieces = stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
        pieces.append([])
        for piece in pieces {
            for (event, complete) in splitter.feed(piece) {
                if !complete || tracker.observe(SSEEvent(event), hidingUsageChunk: hiding) { shown += event }
            }
        }
        if let rest = splitter.finish() { shown += rest }
        return (String(decoding: shown, as: UTF8.self), tracker)
    }

    @Test("events are cut at blank lines whatever the chunking; the usage chunk is hidden only when asked")
    func splitting() throws {
        for size in [1, 2, 7, 64, 100_000] {
            let hidden = relay(Self.openAIStream, endpoint: .chatCompletions, chunk: size, hiding: true)
            #expect(!hidden.shown.contains("prompt_tokens"), "chunk size \(size)")
            #expect(hidden.shown.contains("[DONE]") && hidden.shown.contains(" world"))
            let usage = hidden.tracker.usage(stream: true, promptTokens: 999)
            #expect(usage.record == UsageRecord(inputTokens: 12, outputTokens: 3, cachedInputTokens: 4))
            #expect(usage.model == "gpt-4o-2024-08-06")
            let shown = relay(Self.openAIStream, endpoint: .chatCompletions, chunk: size, hiding: false)
            #expect(shown.shown == Self.openAIStream, "chunk size \(size): the stream was changed")
        }
        let crlf = Self.openAIStream.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(
            relay(crlf, endpoint: .chatCompletions, chunk: 3, hiding: true).shown.contains("prompt_tokens") == false)
    }

    @Test("a stream that ends without its usage is settled as an estimate from the prompt and the streamed text")
    func estimate() {
        let partial = relay(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello world, how are you\"}}]}\n\n",
            endpoint: .chatCompletions, chunk: 5, hiding: true)
        let usage = partial.tracker.usage(stream: true, promptTokens: 40)
        #expect(usage.record.source == .estimated)
        #expect(usage.record.inputTokens == 40)
        #expect(
            usage.record.outputTokens == HeuristicTokenEstimator().countTokens(in: "Hello world, how are you"))
    }

    @Test("Anthropic: message_start and message_delta make the usage; without message_delta it is an estimate")
    func anthropic() {
        let start =
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-x\",\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\n"
        let delta =
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi there\"}}\n\n"
        let end =
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":7}}\n\n"
        let whole = relay(start + delta + end, endpoint: .messages, chunk: 4, hiding: false)
        #expect(whole.shown == start + delta + end)
        let usage = whole.tracker.usage(stream: true, promptTokens: 0).record
        #expect(usage.inputTokens == 15 && usage.cachedInputTokens == 5 && usage.outputTokens == 7)
        #expect(usage.source == .reported)
        let cut = relay(start + delta, endpoint: .messages, chunk: 4, hiding: false).tracker
        let estimated = cut.usage(stream: true, promptTokens: 3).record
        #expect(estimated.source == .estimated)
        #expect(estimated.inputTokens == 15, "the provider's input count is kept")
        #expect(estimated.outputTokens == HeuristicTokenEstimator().countTokens(in: "Hi there"))
    }

    @Test("a non-stream body is read for its usage; an error body's usage counts only when it bills something")
    func bodies() {
        var tracker = ProxyUsageTracker(endpoint: .embeddings, estimator: HeuristicTokenEstimator())
        let body = #"{"object":"list","model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}"#
        tracker.observeBody(Array(body.utf8).prefix(20))
        tracker.observeBody(Array(body.utf8).dropFirst(20))
        #expect(tracker.usage(stream: false, promptTokens: 99).record == UsageRecord(inputTokens: 8, outputTokens: 0))
        let error = #"{"error":{"message":"overloaded","type":"server_error"}}"#
        #expect(ProxyUsageTracker.billedUsage(inErrorBody: Array(error.utf8), endpoint: .chatCompletions) == nil)
    }

    @Test("headers: the client's credentials never go upstream, the provider key does; few come back")
    func headers() {
        let incoming: HTTPFields = [
            .authorization: "Bearer tl_app_key", HTTPField.Name("x-api-key")!: "tl_app_key", .cookie: "c=1",
            .contentType: "application/json", HTTPField.Name("OpenAI-Organization")!: "org-1",
            HTTPField.Name("X-TokenLedger-User")!: "alice", .acceptEncoding: "gzip",
        ]
        let openAI = ProxyHeaders.upstream(
            from: incoming, provider: .openai, key: ProviderKey("sk-provider"), bodyLength: 12)
        #expect(openAI["authorization"] == ["Bearer sk-provider"])
        #expect(openAI["x-api-key"].isEmpty && openAI["cookie"].isEmpty && openAI["x-tokenledger-user"].isEmpty)
        #expect(openAI["openai-organization"] == ["org-1"])
        #expect(openAI["accept-encoding"] == ["identity"])
        #expect(openAI["content-length"] == ["12"])
        let anthropic = ProxyHeaders.upstream(
            from: incoming, provider: .anthropic, key: ProviderKey("sk-ant"), bodyLength: 1)
        #expect(anthropic["x-api-key"] == ["sk-ant"] && anthropic["authorization"].isEmpty)
        #expect(anthropic["anthropic-version"] == [ProxyHeaders.anthropicVersion])
        let keyless = ProxyHeaders.upstream(from: incoming, provider: .openai, key: nil, bodyLength: 1)
        #expect(keyless["authorization"].isEmpty)
        let back = ProxyHeaders.downstream(
            from: HTTPHeaders([
                ("Content-Type", "text/event-stream"), ("x-request-id", "req_1"), ("x-ratelimit-limit-tokens", "9"),
                ("anthropic-ratelimit-requests-remaining", "3"), ("set-cookie", "s=1"), ("openai-organization", "org"),
                ("server", "x"),
            ]))
        #expect(
            Set(back.map(\.name.canonicalName)) == [
                "content-type", "x-request-id", "x-ratelimit-limit-tokens", "anthropic-ratelimit-requests-remaining",
            ])
    }

    @Test("settings: read from the environment's names, URLs checked, keys never shown")
    func settings() async throws {
        let environment = [
            "TOKENLEDGER_UPSTREAM_OPENAI": "http://127.0.0.1:9999/v1/", "OPENAI_API_KEY": "sk-secret-openai",
            "ANTHROPIC_API_KEY": "sk-secret-anthropic", "TOKENLEDGER_PROXY_DEFAULT_USER": "team",
            "TOKENLEDGER_PROXY_MAX_OUTPUT_TOKENS": "512", "TOKENLEDGER_PROXY_WHEN_UNAVAILABLE": "fail-open",
        ]
        let configuration = try ProxyConfiguration(
            config: try await TokenLedgerConfiguration.reader(environment: environment))
        #expect(configuration.openAIUpstream == "http://127.0.0.1:9999/v1")
        #expect(configuration.anthropicUpstream == ProxyConfiguration.defaultAnthropicUpstream)
        #expect(configuration.openAIKey?.secret == "sk-secret-openai")
        #expect(configuration.defaultUser == "team")
        #expect(configuration.defaultMaximumOutputTokens == 512)
        #expect(configuration.whenUnavailable == .failOpen)
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [
            configuration.description, dumped, "\(configuration.openAIKey!)", String(reflecting: configuration),
        ] {
            #expect(!text.contains("sk-secret"), "a key was shown: \(text)")
        }
        let defaults = try ProxyConfiguration(config: try await TokenLedgerConfiguration.reader(environment: [:]))
        #expect(defaults.openAIUpstream == ProxyConfiguration.defaultOpenAIUpstream)
        #expect(defaults.openAIKey == nil && defaults.defaultUser == nil && defaults.whenUnavailable == .failClosed)
        for (name, value, field) in [
            ("TOKENLEDGER_UPSTREAM_OPENAI", "ftp://x", "upstream_openai"),
            ("TOKENLEDGER_UPSTREAM_ANTHROPIC", "https://user:pw@host/v1", "upstream_anthropic"),
            ("TOKENLEDGER_PROXY_MAX_OUTPUT_TOKENS", "lots", "proxy_max_output_tokens"),
            ("TOKENLEDGER_PROXY_WHEN_UNAVAILABLE", "maybe", "proxy_when_unavailable"),
        ] {
            let reader = try await TokenLedgerConfiguration.reader(environment: [name: value])
            do {
                _ = try ProxyConfiguration(config: reader)
                Issue.record("\(name)=\(value) was accepted")
            } catch {
                #expect(error.field == field)
                #expect(!error.message.contains("pw"))
            }
        }
    }

    @Test("the model label is bounded: plain names up to a capacity, anything else is other")
    func modelLabels() {
        let metrics = ProxyMetrics(factory: NOOPMetricsHandler.instance)
        #expect(metrics.modelLabel("gpt-4o-mini") == "gpt-4o-mini")
        #expect(metrics.modelLabel("user alice@example.com") == "other")
        #expect(metrics.modelLabel(String(repeating: "a", count: 65)) == "other")
        for index in 0..<200 { _ = metrics.modelLabel("model-\(index)") }
        #expect(metrics.modelLabel("model-150") == "other")
        #expect(metrics.modelLabel("gpt-4o-mini") == "gpt-4o-mini")
    }
}

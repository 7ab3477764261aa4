import Foundation
import Testing
import TokenLedger

/// Every `Fixtures/usage/*.json` case, read with auto-detection and with its named provider, as a
/// parsed value and as raw bytes in each wire format.
@Suite("Usage extraction: fixtures")
struct ExtractionFixtureTests {
    /// What auto-detection reports for each fixture's `provider` (OpenAI-like shapes fold into openai).
    static let detected: [String: Provider] = [
        "aiecs": .aiecs,
        "anthropic-messages": .anthropic,
        "bedrock-converse": .bedrock,
        "cohere-chat-v2": .cohere,
        "gemini-generate-content": .gemini,
        "langchain-usage-metadata": .langchain,
        "mistral-chat": .openai,
        "ollama-chat": .ollama,
        "openai-chat-completions": .openai,
        "openai-embeddings": .openaiEmbeddings,
        "openai-responses": .openaiResponses,
        "xai": .openai,
    ]

    /// The cases the tests must find: the shared folder's, and the ones this repository adds for
    /// responses that are billed and must never be refused.
    static let requiredFixtures = [
        "aiecs_dict.json", "anthropic_messages.json", "anthropic_messages_cache_1h.json",
        "anthropic_messages_cache_1h_stream.json", "anthropic_messages_iterations.json",
        "anthropic_messages_iterations_stream.json", "anthropic_messages_stream.json", "bedrock_converse.json",
        "bedrock_converse_cache_1h.json",
        "cohere_chat_v2.json", "gemini_generate_content.json", "gemini_stream.json",
        "langchain_usage_metadata_anthropic.json", "langchain_usage_metadata_openai.json", "mistral_chat.json",
        "ollama_chat.json", "ollama_chat_no_prompt_eval_count.json", "openai_chat_completion.json",
        "openai_chat_stream.json", "openai_embeddings.json", "openai_responses.json",
        "xai_chat_reasoning_outside.json",
    ]

    @Test("the fixture folder is in the repository and holds every case, each loadable")
    func fixtureFolderIsPresent() throws {
        let names = try UsageFixtures.fileNames()
        let missing = Self.requiredFixtures.filter { !names.contains($0) }
        #expect(missing.isEmpty, "missing fixtures: \(missing)")
        #expect(names.count >= Self.requiredFixtures.count)
        // The folder is the repository's copy, not a path outside the clone.
        let folder = try UsageFixtures.directory().standardizedFileURL.path
        if ProcessInfo.processInfo.environment["TOKENLEDGER_USAGE_FIXTURES"] == nil {
            #expect(!folder.contains("/shared/"), "\(folder)")
        }
        for name in names {
            let fixture = try UsageFixtures.load(name)
            #expect(
                Self.detected[fixture.providerName] != nil, "\(name): no detection listed for \(fixture.providerName)")
            #expect(
                Provider(name: fixture.providerName) != nil, "\(name): \(fixture.providerName) is no Provider name")
            #expect(
                fixture.expected.totalTokens == fixture.expectedTotal, "\(name): total_tokens is not input + output")
        }
    }

    @Test("auto-detection yields the expected record", arguments: try UsageFixtures.fileNames())
    func autoDetection(fileName: String) throws {
        let fixture = try UsageFixtures.load(fileName)
        let expectedProvider = try #require(
            Self.detected[fixture.providerName], "no detected provider listed for \(fixture.providerName)")
        let usage = try UsageExtractor.extractUsage(from: fixture.response)
        #expect(usage.provider == expectedProvider, "detected \(usage.provider)")
        #expect(UsageExtractor.detectProvider(in: fixture.response) == expectedProvider)
        #expect(usage.recordWithoutPromptEstimate == fixture.expected)
        if fixture.expected.source == .reported {
            #expect(usage.record == fixture.expected)
            #expect(usage.isComplete)
        } else {
            // Reported output, unknown input: no reported record, and the input stays unknown.
            #expect(usage.record == nil)
            #expect(usage.isInputUnknown)
            #expect(usage.outputTokens == fixture.expected.outputTokens)
        }
        let record = try UsageExtractor.extract(from: fixture.response)
        #expect(record == fixture.expected)
        #expect(record.totalTokens == fixture.expectedTotal)
    }

    @Test("the named provider yields the expected record", arguments: try UsageFixtures.fileNames())
    func explicitProvider(fileName: String) throws {
        let fixture = try UsageFixtures.load(fileName)
        let provider = try #require(Provider(name: fixture.providerName), "no Provider for \(fixture.providerName)")
        let record = try UsageExtractor.extract(from: fixture.response, provider: provider)
        #expect(record == fixture.expected)
        #expect(record.totalTokens == fixture.expectedTotal)
        #expect(record.source == fixture.expected.source)
    }

    @Test("raw JSON bytes yield the expected record", arguments: try UsageFixtures.fileNames())
    func rawJSON(fileName: String) throws {
        let fixture = try UsageFixtures.load(fileName)
        let data = try UsageStreamText.jsonData(fixture.response)
        #expect(try UsageExtractor.extract(from: data) == fixture.expected)
        let pretty = Data(try UsageStreamText.json(fixture.response, pretty: true).utf8)
        let provider = try #require(Provider(name: fixture.providerName))
        #expect(try UsageExtractor.extract(from: pretty, provider: provider) == fixture.expected)
    }

    @Test("SSE text yields the expected record", arguments: try UsageFixtures.fileNames())
    func serverSentEvents(fileName: String) throws {
        let fixture = try UsageFixtures.load(fileName)
        let provider = try #require(Provider(name: fixture.providerName))
        for (pretty, lineEnding) in [(false, "\n"), (true, "\n"), (false, "\r\n"), (true, "\r")] {
            let text = try UsageStreamText.sse(fixture.response, pretty: pretty, lineEnding: lineEnding)
            #expect(try UsageExtractor.extract(from: text) == fixture.expected, "pretty: \(pretty)")
            #expect(try UsageExtractor.extract(from: text, provider: provider) == fixture.expected)
        }
    }

    @Test("NDJSON yields the expected record", arguments: try UsageFixtures.fileNames())
    func ndjson(fileName: String) throws {
        let fixture = try UsageFixtures.load(fileName)
        let provider = try #require(Provider(name: fixture.providerName))
        let text = try UsageStreamText.ndjson(fixture.response)
        #expect(try UsageExtractor.extract(from: text) == fixture.expected)
        #expect(try UsageExtractor.extract(from: text, provider: provider) == fixture.expected)
    }

    @Test("the decoded SSE events equal the fixture's events", arguments: try UsageFixtures.fileNames())
    func sseDecodesToTheSameEvents(fileName: String) throws {
        let fixture = try UsageFixtures.load(fileName)
        let decoded = try UsageExtractor.decodeInput(try UsageStreamText.sse(fixture.response, pretty: true))
        // A single response sent as SSE is a stream of one event.
        #expect(decoded == (fixture.isStream ? fixture.response : .array([fixture.response])))
    }
}

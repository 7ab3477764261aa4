import Foundation
import Testing
import TokenLedger

/// Every `fixtures/usage/*.json` case, read with auto-detection and with its named provider, as a
/// parsed value and as raw bytes in each wire format.
@Suite("Usage extraction: shared fixtures")
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
    ]

    @Test("the fixture folder is found and holds cases")
    func fixtureFolderIsPresent() throws {
        let names = try UsageFixtures.fileNames()
        #expect(names.count >= 15, "expected the shared usage fixtures, found \(names)")
        #expect(names.contains("anthropic_messages_stream.json"))
    }

    @Test("auto-detection yields the expected record", arguments: UsageFixtures.namesForArguments)
    func autoDetection(fileName: String) throws {
        let fixture = try UsageFixtures.load(fileName)
        let usage = try UsageExtractor.extractUsage(from: fixture.response)
        #expect(usage.record == fixture.expected)
        #expect(usage.record?.totalTokens == fixture.expectedTotal)
        #expect(usage.provider == Self.detected[fixture.providerName], "detected \(usage.provider)")
        #expect(try UsageExtractor.extract(from: fixture.response) == fixture.expected)
        #expect(UsageExtractor.detectProvider(in: fixture.response) == Self.detected[fixture.providerName])
    }

    @Test("the named provider yields the expected record", arguments: UsageFixtures.namesForArguments)
    func explicitProvider(fileName: String) throws {
        let fixture = try UsageFixtures.load(fileName)
        let provider = try #require(Provider(name: fixture.providerName), "no Provider for \(fixture.providerName)")
        let record = try UsageExtractor.extract(from: fixture.response, provider: provider)
        #expect(record == fixture.expected)
        #expect(record.totalTokens == fixture.expectedTotal)
        #expect(record.source == .reported)
    }

    @Test("raw JSON bytes yield the expected record", arguments: UsageFixtures.namesForArguments)
    func rawJSON(fileName: String) throws {
        let fixture = try UsageFixtures.load(fileName)
        let data = try UsageStreamText.jsonData(fixture.response)
        #expect(try UsageExtractor.extract(from: data) == fixture.expected)
        let pretty = Data(try UsageStreamText.json(fixture.response, pretty: true).utf8)
        let provider = try #require(Provider(name: fixture.providerName))
        #expect(try UsageExtractor.extract(from: pretty, provider: provider) == fixture.expected)
    }

    @Test("SSE text yields the expected record", arguments: UsageFixtures.namesForArguments)
    func serverSentEvents(fileName: String) throws {
        let fixture = try UsageFixtures.load(fileName)
        let provider = try #require(Provider(name: fixture.providerName))
        for (pretty, lineEnding) in [(false, "\n"), (true, "\n"), (false, "\r\n"), (true, "\r")] {
            let text = try UsageStreamText.sse(fixture.response, pretty: pretty, lineEnding: lineEnding)
            #expect(try UsageExtractor.extract(from: text) == fixture.expected, "pretty: \(pretty)")
            #expect(try UsageExtractor.extract(from: text, provider: provider) == fixture.expected)
        }
    }

    @Test("NDJSON yields the expected record", arguments: UsageFixtures.namesForArguments)
    func ndjson(fileName: String) throws {
        let fixture = try UsageFixtures.load(fileName)
        let provider = try #require(Provider(name: fixture.providerName))
        let text = try UsageStreamText.ndjson(fixture.response)
        #expect(try UsageExtractor.extract(from: text) == fixture.expected)
        #expect(try UsageExtractor.extract(from: text, provider: provider) == fixture.expected)
    }

    @Test("the decoded SSE events equal the fixture's array", arguments: UsageFixtures.namesForArguments)
    func sseDecodesToTheSameEvents(fileName: String) throws {
        let fixture = try UsageFixtures.load(fileName)
        guard fixture.isStream else { return }
        let decoded = try UsageExtractor.decodeInput(try UsageStreamText.sse(fixture.response, pretty: true))
        #expect(decoded == fixture.response)
    }
}

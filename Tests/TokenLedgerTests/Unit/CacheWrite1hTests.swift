import Foundation
import Testing
import TokenLedger

private func extract(_ json: String, _ provider: Provider = .auto) throws -> UsageRecord {
    try UsageExtractor.extract(from: Data(json.utf8), provider: provider)
}

@Suite("Usage records: 1-hour cache writes")
struct CacheWrite1hTests {
    @Test("Anthropic's ephemeral_1h_input_tokens is the 1-hour subset of the cache writes; absent means not reported")
    func anthropicBody() throws {
        let split = try extract(
            #"{"type":"message","model":"claude-sonnet-4-5","usage":{"input_tokens":10,"cache_creation_input_tokens":300,"cache_read_input_tokens":50,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200},"output_tokens":7}}"#
        )
        #expect(split.inputTokens == 360 && split.cacheWriteTokens == 300 && split.cacheWrite1hTokens == 200)
        let noSplit = try extract(
            #"{"type":"message","usage":{"input_tokens":10,"cache_creation_input_tokens":300,"output_tokens":7}}"#)
        #expect(noSplit.cacheWriteTokens == 300 && noSplit.cacheWrite1hTokens == nil)
        // Only the ephemeral counts: the writes are their sum, the 1-hour ones are the 1h count.
        let onlyEphemeral = try extract(
            #"{"type":"message","usage":{"input_tokens":1,"cache_creation":{"ephemeral_5m_input_tokens":4,"ephemeral_1h_input_tokens":6},"output_tokens":2}}"#
        )
        #expect(onlyEphemeral.cacheWriteTokens == 10 && onlyEphemeral.cacheWrite1hTokens == 6)
        #expect(onlyEphemeral.inputTokens == 11)
    }

    @Test("more 1-hour writes than writes is refused naming the usage path")
    func inconsistentSplit() {
        #expect {
            _ = try extract(
                #"{"type":"message","usage":{"input_tokens":10,"cache_creation_input_tokens":100,"cache_creation":{"ephemeral_1h_input_tokens":200},"output_tokens":7}}"#
            )
        } throws: { error in
            guard let error = error as? ExtractionError else { return false }
            return error.code == .invalidValue && error.path == "$.usage"
                && error.message.contains("1-hour cache writes")
        }
        #expect {
            _ = try extract(
                #"{"type":"message","usage":{"input_tokens":1,"cache_creation":{"ephemeral_1h_input_tokens":-2},"output_tokens":2}}"#
            )
        } throws: { ($0 as? ExtractionError)?.path == "$.usage.cache_creation.ephemeral_1h_input_tokens" }
    }

    @Test("the iterations of a compaction are summed, 1-hour writes too")
    func iterations() throws {
        let record = try extract(
            #"{"type":"message","usage":{"input_tokens":5,"output_tokens":5,"iterations":[{"type":"compaction","input_tokens":100,"output_tokens":10,"cache_creation_input_tokens":30,"cache_creation":{"ephemeral_5m_input_tokens":10,"ephemeral_1h_input_tokens":20}},{"type":"message","input_tokens":5,"output_tokens":5,"cache_creation_input_tokens":8,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":8}}]}}"#
        )
        #expect(record.cacheWriteTokens == 38 && record.cacheWrite1hTokens == 28 && record.inputTokens == 143)
    }

    @Test("Bedrock's cacheDetails entries with ttl 1h are the 1-hour writes; LangChain's ephemeral_1h key too")
    func bedrockAndLangChain() throws {
        let bedrock = try extract(
            #"{"usage":{"inputTokens":3,"outputTokens":4,"cacheWriteInputTokens":30,"cacheDetails":[{"ttl":"5m","inputTokens":10},{"ttl":"1h","inputTokens":20}]}}"#,
            .bedrock)
        #expect(bedrock.cacheWriteTokens == 30 && bedrock.cacheWrite1hTokens == 20 && bedrock.inputTokens == 33)
        let noDetails = try extract(
            #"{"usage":{"inputTokens":3,"outputTokens":4,"cacheWriteInputTokens":30}}"#, .bedrock)
        #expect(noDetails.cacheWrite1hTokens == nil)
        let langchain = try extract(
            #"{"type":"ai","usage_metadata":{"input_tokens":100,"output_tokens":5,"total_tokens":105,"input_token_details":{"cache_read":10,"cache_creation":0,"ephemeral_5m_input_tokens":20,"ephemeral_1h_input_tokens":30}}}"#
        )
        #expect(langchain.cacheWriteTokens == 50 && langchain.cacheWrite1hTokens == 30)
    }

    @Test("extract's JSON carries cache_write_1h_tokens when reported and leaves it out otherwise")
    func json() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let split = UsageRecord(inputTokens: 10, outputTokens: 1, cacheWriteTokens: 6, cacheWrite1hTokens: 4)
        #expect(
            String(decoding: try encoder.encode(split), as: UTF8.self)
                == #"{"cache_write_1h_tokens":4,"cache_write_tokens":6,"cached_input_tokens":null,"input_tokens":10,"output_tokens":1,"reasoning_tokens":null,"source":"reported","total_tokens":11}"#
        )
        let plain = UsageRecord(inputTokens: 10, outputTokens: 1)
        #expect(!String(decoding: try encoder.encode(plain), as: UTF8.self).contains("1h"))
        #expect(try JSONDecoder().decode(UsageRecord.self, from: try encoder.encode(split)) == split)
        #expect(try JSONDecoder().decode(UsageRecord.self, from: try encoder.encode(plain)) == plain)
    }

    @Test("an event spooled before the field existed still replays, and a new one keeps its split")
    func spoolCompatibility() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-1h-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A line exactly as the spool wrote records before cache_write_1h_tokens existed.
        let old =
            #"{"at":1767225600000,"call_id":"old-1","cycle":null,"model":"claude-sonnet-4-5","namespace":"tl","op":"record","provider":"anthropic","usage":{"cache_write_tokens":300,"cached_input_tokens":50,"input_tokens":360,"output_tokens":7,"reasoning_tokens":null,"source":"reported","total_tokens":367},"user":"alice"}"#
        try Data((old + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/segment-0000-old.jsonl"))
        let spool = try EventSpool(directory: directory)
        let split = UsageRecord(
            inputTokens: 360, outputTokens: 7, cachedInputTokens: 50, cacheWriteTokens: 300, cacheWrite1hTokens: 200)
        try spool.append(
            SpooledEvent(
                operation: .record, user: "bob", callID: "new-1", usage: split, model: "claude-sonnet-4-5",
                at: Date(timeIntervalSince1970: 1_767_225_600), namespace: "tl"))
        let seen = Locked<[SpooledEvent]>([])
        let result = try await spool.replay { event in
            seen.withLock { $0.append(event) }
            return .applied
        }
        #expect(result.applied == 2 && result.rejected == 0 && result.torn == 0)
        let events = seen.withLock { $0 }
        let replayedOld = try #require(events.first { $0.callID == "old-1" })
        #expect(
            replayedOld.usage
                == UsageRecord(inputTokens: 360, outputTokens: 7, cachedInputTokens: 50, cacheWriteTokens: 300))
        #expect(replayedOld.usage.cacheWrite1hTokens == nil)
        #expect(events.first { $0.callID == "new-1" }?.usage.cacheWrite1hTokens == 200)
        spool.close()
    }

    @Test("a resolved estimate keeps the 1-hour writes within the writes")
    func resolvedCaps() {
        let usage = ExtractedUsage(
            provider: .anthropic, inputTokens: nil, outputTokens: 5, cacheWriteTokens: 50, cacheWrite1hTokens: 40)
        let record = usage.resolved(promptEstimate: 20)
        #expect(record.inputTokens == 20 && record.cacheWriteTokens == 20 && record.cacheWrite1hTokens == 20)
        #expect((try? record.validateCounts()) != nil)
    }
}

import Foundation
import Testing

@testable import BytePairEncoding

/// Counts and token ids against tiktoken itself, on the seeded multilingual corpus.
@Suite("tiktoken parity", .serialized)
struct TiktokenParityTests {
    @Test("counts and token ids equal tiktoken's on every corpus piece", arguments: EncodingName.allCases)
    func corpusMatches(encoding: EncodingName) throws {
        let corpus = try Reference.sharedCorpus()
        #expect(corpus.count >= 2000)
        let answers = try Reference.sharedAnswers()
        let answer = try #require(answers[encoding], "the reference gave no answer for \(encoding)")
        try #require(answer.counts.count == corpus.count)
        let encoder = try Reference.encoder(encoding)

        var mismatches: [String] = []
        for (index, text) in corpus.enumerated() {
            let ours = encoder.count(text)
            if ours != answer.counts[index] {
                mismatches.append(
                    "#\(index) \"\(Reference.escaped(text))\": ours \(ours), tiktoken \(answer.counts[index]); pieces \(encoder.pieces(text).map { Reference.escaped($0, limit: 30) })"
                )
            }
        }
        if !mismatches.isEmpty {
            Issue.record(
                "\(mismatches.count) of \(corpus.count) counts differ:\n\(mismatches.prefix(15).joined(separator: "\n"))"
            )
        }

        var idMismatches: [String] = []
        for (index, expected) in answer.ids.enumerated() {
            let ours = encoder.encode(corpus[index])
            if ours != expected {
                idMismatches.append(
                    "#\(index) \"\(Reference.escaped(corpus[index]))\": ours \(ours.prefix(20)), tiktoken \(expected.prefix(20))"
                )
            }
        }
        #expect(answer.ids.count == corpus.count)
        if !idMismatches.isEmpty {
            Issue.record("\(idMismatches.count) id arrays differ:\n\(idMismatches.prefix(10).joined(separator: "\n"))")
        }
    }

    @Test("pieces equal the matches of tiktoken's regex", arguments: EncodingName.allCases)
    func splitsMatch(encoding: EncodingName) throws {
        let corpus = try Reference.sharedCorpus()
        let splits = try #require(try Reference.sharedSplits()[encoding])
        try #require(splits.count == corpus.count)
        let encoder = try Reference.encoder(encoding)
        var compared = 0
        var mismatches: [String] = []
        for (index, expected) in splits.enumerated() {
            guard let expected else { continue }
            compared += 1
            let ours = encoder.pieces(corpus[index])
            if ours != expected {
                mismatches.append(
                    "#\(index) ours \(ours.map { Reference.escaped($0, limit: 30) }), tiktoken \(expected.map { Reference.escaped($0, limit: 30) })"
                )
            }
        }
        #expect(compared >= 2000)
        if !mismatches.isEmpty {
            Issue.record(
                "\(mismatches.count) of \(compared) splits differ:\n\(mismatches.prefix(15).joined(separator: "\n"))")
        }
    }

    @Test("encode agrees with count and decodes back to the text", arguments: EncodingName.allCases)
    func encodeRoundTrips(encoding: EncodingName) throws {
        let corpus = try Reference.sharedCorpus()
        let encoder = try Reference.encoder(encoding)
        for text in corpus {
            let tokens = encoder.encode(text)
            #expect(tokens.count == encoder.count(text))
            #expect(encoder.decodeBytes(tokens) == Array(text.utf8), "round trip of \"\(Reference.escaped(text))\"")
        }
    }

    @Test("allowed special tokens match tiktoken's encode(allowed_special=\"all\")", arguments: EncodingName.allCases)
    func allowedSpecialMatches(encoding: EncodingName) throws {
        let texts = [
            "<|endoftext|>", "hello<|endoftext|>world", "a  <|endoftext|>  b", "x\n\n<|endofprompt|>\n",
            "<|fim_prefix|>def f():<|fim_suffix|>\n    return 1<|fim_middle|>",
            "<|endoftext|><|endoftext|>", "<|endoftext", "< |endoftext|>", "<<|endoftext|>>",
            "<|im_start|>user<|im_end|>", "tail spaces   <|endoftext|>", "日本<|endofprompt|>語",
        ]
        let answers = try Reference.tiktoken(texts, ids: texts.count, allowedSpecial: true)
        let answer = try #require(answers[encoding])
        let encoder = try Reference.encoder(encoding)
        let all = Set(encoding.specialTokens.keys)
        for (index, text) in texts.enumerated() {
            #expect(encoder.count(text, allowedSpecial: all) == answer.counts[index], "\"\(text)\"")
            #expect(encoder.encode(text, allowedSpecial: all) == answer.ids[index], "\"\(text)\"")
        }
        // Not allowed: ordinary text.
        #expect(encoder.count("<|endoftext|>") > 1)
        #expect(
            encoder.encode("<|endoftext|>", allowedSpecial: ["<|endoftext|>"]) == [
                encoding.specialTokens["<|endoftext|>"]!
            ])
    }

    @Test("scalar classes equal those of tiktoken's regex engine for every code point")
    func scalarClassesMatchRegexEngine() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(
            "bpe-classes-\(UUID().uuidString).bin")
        defer { try? FileManager.default.removeItem(at: output) }
        _ = try Reference.runScript("bpe_reference.py", ["classes", "--output", output.path])
        let reference = [UInt8](try Data(contentsOf: output))
        try #require(reference.count == 0x110000)
        let table = ScalarClassTable.shared
        var differences: [String] = []
        for value in 0..<UInt32(0x110000) {
            let bits = reference[Int(value)]
            let lu = bits & 1 != 0, ll = bits & 2 != 0, lt = bits & 4 != 0, lm = bits & 8 != 0
            let lo = bits & 16 != 0, mark = bits & 32 != 0, number = bits & 64 != 0, space = bits & 128 != 0
            var expected: UInt8 = 0
            if lu || lt || lm || lo || mark { expected |= ScalarClass.upper }
            if ll || lm || lo || mark { expected |= ScalarClass.lower }
            if lu || ll || lt || lm || lo { expected |= ScalarClass.letter }
            if number { expected |= ScalarClass.number }
            if space { expected |= ScalarClass.space }
            if value == 0x0A || value == 0x0D { expected |= ScalarClass.newline }
            let ours = (0xD800...0xDFFF).contains(value) ? 0 : table.flags(value)
            if ours != expected {
                differences.append("U+\(String(value, radix: 16, uppercase: true)): ours \(ours), tiktoken \(expected)")
            }
        }
        if !differences.isEmpty {
            Issue.record("\(differences.count) scalars differ: \(differences.prefix(20))")
        }
    }

    @Test("one encoder counts correctly from many tasks at once")
    func concurrentReaders() async throws {
        let encoder = try Reference.encoder(.o200kBase)
        let corpus = Array(try Reference.sharedCorpus().prefix(300))
        let expected = corpus.map { encoder.count($0) }
        try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<8 {
                group.addTask { corpus.map { encoder.count($0) } }
            }
            for try await result in group {
                #expect(result == expected)
            }
        }
    }
}

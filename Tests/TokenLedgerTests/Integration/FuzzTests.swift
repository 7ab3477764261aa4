import Foundation
import RedisClient
import Testing
import TokenLedger

/// SPEC's bad-input rules, stated independently of the code under test.
private func userIDIsValid(_ user: String) -> Bool {
    let bytes = user.utf8.count
    return (1...256).contains(bytes)
        && !user.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
}

private func countIsValid(_ count: Int) -> Bool { (0...1_000_000_000_000).contains(count) }

/// Random user ids: plain, awkward (braces, colons, emoji), too long, with control characters.
private func randomUserID(_ random: inout SplitMix64) -> String {
    let pieces = [
        "a", "Z", "7", "{", "}", ":", " ", "%", "é", "中", "👩‍💻", "\u{0}", "\u{7}", "\u{1F}", "\u{7F}", "\u{85}",
        "\u{200D}", "-", "_", "\n",
    ]
    let length: Int
    switch random.next() % 10 {
    case 0: length = 0
    case 1: length = 250 + Int(random.next() % 12)
    default: length = 1 + Int(random.next() % 12)
    }
    var text = ""
    for _ in 0..<length {
        // Control characters are rarer, so most ids are valid.
        let index = Int(random.next() % UInt64(pieces.count))
        if index >= 11 && index <= 15 && random.next() % 4 != 0 { text += "x"; continue }
        text += pieces[index]
    }
    if length > 200 {
        text = String(repeating: "u", count: 250 + Int(random.next() % 10)) + (random.next() % 2 == 0 ? "" : "é")
    }
    return text
}

private func randomCount(_ random: inout SplitMix64) -> Int {
    switch random.next() % 6 {
    case 0: return -Int(random.next() % 1_000_000) - 1
    case 1: return 1_000_000_000_000 + Int(random.next() % 3)
    case 2: return 999_999_999_999 + Int(random.next() % 2)
    case 3: return Int(truncatingIfNeeded: random.next())
    default: return Int(random.next() % 100_000)
    }
}

/// `bytes` without the blanks JSON allows between tokens (space, tab, CR, LF outside strings),
/// so a compact document and the same one with blanks inserted compare equal; `nil` when a blank
/// splits a number or literal (`1 2`, `nu ll`), which changes the document.
private func withoutJSONWhitespace(_ bytes: [UInt8]) -> [UInt8]? {
    func isWordByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte) || (0x41...0x5A).contains(byte)
            || [UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "+")].contains(byte)
    }
    let blanks: [UInt8] = [0x20, 0x09, 0x0A, 0x0D]
    var result: [UInt8] = []
    result.reserveCapacity(bytes.count)
    var inString = false
    var escaped = false
    for (index, byte) in bytes.enumerated() {
        if inString {
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inString = false
            }
        } else if byte == UInt8(ascii: "\"") {
            inString = true
        } else if blanks.contains(byte) {
            let next = bytes[(index + 1)...].first { !blanks.contains($0) }
            if let previous = result.last, let next, isWordByte(previous) && isWordByte(next) { return nil }
            continue
        }
        result.append(byte)
    }
    return result
}

@Suite("Fuzzing extraction and validation")
struct FuzzTests {
    @Test("105,000 mutated provider responses: no crash; every rejection an ExtractionError naming its path")
    func mutatedResponses() throws {
        let names = try UsageFixtures.fileNames()
        var random = SplitMix64(seed: 0x5EED)
        let alphabet = Array(#"{}[]:,"-0123456789.eE+ \n\tnulltruefalse[DONE]data:event:"#.utf8)
        let numbers = [
            "-1", "1e3", "1.5", "99999999999999999999", "1000000000001", "null", "\"12\"", "[]", "{}", "true",
        ]
        var extracted = 0
        var rejected = 0
        var unchanged = 0
        for name in names {
            let fixture = try UsageFixtures.load(name)
            let bases = [
                Array(try UsageStreamText.jsonData(fixture.response)), Array(try UsageStreamText.sse(fixture.response)),
            ]
            for round in 0..<7000 {
                let base = bases[round % 2]
                var bytes = base
                for _ in 0..<(1 + Int(random.next() % 3)) {
                    switch random.next() % 6 {
                    case 0: bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count + 1))))
                    case 1 where !bytes.isEmpty:
                        bytes[Int(random.next() % UInt64(bytes.count))] =
                            alphabet[Int(random.next() % UInt64(alphabet.count))]
                    case 2 where !bytes.isEmpty: bytes.remove(at: Int(random.next() % UInt64(bytes.count)))
                    case 3:
                        bytes.insert(
                            alphabet[Int(random.next() % UInt64(alphabet.count))],
                            at: Int(random.next() % UInt64(bytes.count + 1)))
                    case 4:
                        // Replace a run of digits with a hostile number.
                        if let start = bytes.indices.filter({ (0x30...0x39).contains(bytes[$0]) }).randomElement(
                            using: &random)
                        {
                            var end = start
                            while end < bytes.count && (0x30...0x39).contains(bytes[end]) { end += 1 }
                            bytes.replaceSubrange(
                                start..<end, with: Array(numbers[Int(random.next() % UInt64(numbers.count))].utf8))
                        }
                    default:
                        // Splice a slice of the document somewhere else.
                        if bytes.count > 2 {
                            let a = Int(random.next() % UInt64(bytes.count))
                            let b = min(bytes.count, a + Int(random.next() % 40))
                            bytes.insert(contentsOf: bytes[a..<b], at: Int(random.next() % UInt64(bytes.count)))
                        }
                    }
                }
                // Mutations that leave the document as it was (a splice of nothing, a cut at the
                // end, blanks between JSON tokens) must still give the fixture's own record: the
                // expected value for those rounds is known.
                let same = round % 2 == 0 ? withoutJSONWhitespace(bytes) == base : bytes == base
                do {
                    let usage = try UsageExtractor.extractUsage(from: Data(bytes))
                    // What `extract` would store: the reported record, or the reported output with
                    // the input marked estimated when the response left the input out (Ollama).
                    let stored = usage.recordWithoutPromptEstimate
                    if let record = stored {
                        #expect(countIsValid(record.inputTokens) && countIsValid(record.outputTokens))
                        #expect((record.cachedInputTokens ?? 0) <= record.inputTokens)
                        #expect((record.reasoningTokens ?? 0) <= record.outputTokens)
                    }
                    if same {
                        #expect(
                            stored == fixture.expected,
                            "\(name) round \(round): \(String(decoding: bytes, as: UTF8.self))")
                    }
                    extracted += 1
                } catch {
                    #expect(!same, "\(name) round \(round): an unchanged document was refused: \(error)")
                    #expect(error.message.hasPrefix(error.path), "\(error)")
                    #expect(error.path.hasPrefix("$"))
                    rejected += 1
                }
                if same { unchanged += 1 }
            }
        }
        #expect(extracted + rejected >= 100_000)
        #expect(extracted > 0 && rejected > 0)
        // The oracle above ran: some rounds of every kind left the document as it was.
        #expect(unchanged >= names.count, "only \(unchanged) unchanged documents")
    }

    @Test("100,000 random user ids and counts: validation agrees with the SPEC's rules and names the field")
    func randomInputs() throws {
        var random = SplitMix64(seed: 42)
        var refused = 0
        for _ in 0..<100_000 {
            let user = randomUserID(&random)
            let input = randomCount(&random)
            let output = randomCount(&random)
            let valid = userIDIsValid(user) && countIsValid(input) && countIsValid(output)
            do {
                try Validation.validateUserID(user)
                try Validation.validateTokenCount(input, field: "input_tokens")
                try Validation.validateTokenCount(output, field: "output_tokens")
                #expect(valid, "accepted \(user.debugDescription) \(input) \(output)")
            } catch {
                #expect(!valid, "refused valid \(user.debugDescription) \(input) \(output): \(error)")
                #expect(["user_id", "input_tokens", "output_tokens"].contains(error.field))
                #expect(
                    error.message.contains(error.field.replacingOccurrences(of: "_", with: " ")), "\(error.message)")
                refused += 1
            }
        }
        #expect(refused > 10_000 && refused < 90_000)
    }

    @Test("2,000 random records through the repository: rejected ones write nothing, accepted ones add up exactly")
    func randomRecords() async throws {
        try await withRepository { repository async throws in
            var random = SplitMix64(seed: 7)
            var expected: [String: Int] = [:]
            for index in 0..<2000 {
                let user = randomUserID(&random)
                let usage = UsageRecord(inputTokens: randomCount(&random), outputTokens: randomCount(&random))
                let valid = userIDIsValid(user) && countIsValid(usage.inputTokens) && countIsValid(usage.outputTokens)
                do {
                    _ = try await repository.record(
                        user: user, callID: "f\(index)", usage: usage, cycle: date("2030-01-01"))
                    #expect(valid, "accepted \(user.debugDescription)")
                    expected[user, default: 0] += usage.inputTokens + usage.outputTokens
                } catch let error as ValidationError {
                    #expect(!valid, "refused valid input: \(error)")
                }
            }
            let report = try await repository.report(cycle: date("2030-01-01"))
            #expect(report.users.count == expected.count)
            for row in report.users { #expect(row.totalTokens == expected[row.user], "\(row.user.debugDescription)") }
        }
    }
}

import BytePairEncoding
import Foundation
import Testing

/// Runs the Python reference scripts (tiktoken) and finds the rank files for the tests.
///
/// The rank directory is `TOKENLEDGER_BPE_DIR` when set, else the `data` folder of the
/// `bpe-openai` Python package (asked of `scripts/bpe_reference.py locate`). A missing python3,
/// tiktoken or bpe-openai fails the tests with a message saying what to install.
enum Reference {
    static let installHint = "pip install tiktoken bpe-openai"

    /// Why the reference could not be used.
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    /// `scripts/` at the package root, found from this file's path.
    static let scriptsDirectory: URL = {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // Support
            .deletingLastPathComponent()  // BytePairEncodingTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // package root
            .appendingPathComponent("scripts")
    }()

    /// Runs `python3 scripts/NAME ARGS…` and returns its standard output.
    static func runScript(_ name: String, _ arguments: [String]) throws -> Data {
        let script = scriptsDirectory.appendingPathComponent(name).path
        let temp = FileManager.default.temporaryDirectory
            .appendingPathComponent("bpe-ref-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temp) }
        let outURL = temp.appendingPathComponent("stdout")
        let errURL = temp.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + arguments
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw Unavailable(description: "cannot run python3 (\(error)); install Python 3, then \(installHint)")
        }
        process.waitUntilExit()
        try out.close()
        try err.close()
        let stderr = String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw Unavailable(
                description:
                    "python3 \(name) \(arguments.joined(separator: " ")) failed (exit \(process.terminationStatus)): \(stderr.suffix(2000)) — the reference needs: \(installHint)"
            )
        }
        return try Data(contentsOf: outURL)
    }

    /// The directory holding `o200k_base.tiktoken(.gz)` and `cl100k_base.tiktoken(.gz)`.
    static func rankDirectory() throws -> String {
        if let configured = ProcessInfo.processInfo.environment["TOKENLEDGER_BPE_DIR"], !configured.isEmpty {
            return configured
        }
        let data = try runScript("bpe_reference.py", ["locate"])
        struct Located: Decodable { var directory: String }
        return try JSONDecoder().decode(Located.self, from: data).directory
    }

    private static let loaded: Result<[EncodingName: BytePairEncoder], Unavailable> = {
        do {
            let directory = try rankDirectory()
            var encoders: [EncodingName: BytePairEncoder] = [:]
            for encoding in EncodingName.allCases {
                encoders[encoding] = try BytePairEncoder(encoding: encoding, directory: directory)
            }
            return .success(encoders)
        } catch let error as Unavailable {
            return .failure(error)
        } catch {
            return .failure(Unavailable(description: "cannot load the rank files: \(error) — \(installHint)"))
        }
    }()

    /// The encoder for `encoding`, loaded once per test process.
    static func encoder(_ encoding: EncodingName) throws -> BytePairEncoder {
        try loaded.get()[encoding]!
    }

    /// The deterministic test corpus of `scripts/bpe_corpus.py pieces`.
    static func corpus(seed: Int = 20_240_611, count: Int = 2400) throws -> [String] {
        let data = try runScript("bpe_corpus.py", ["pieces", "--seed", "\(seed)", "--count", "\(count)"])
        return try JSONDecoder().decode([String].self, from: data)
    }

    /// The corpus seed and size: 20240611 and 2400 unless `TOKENLEDGER_BPE_CORPUS_SEED` or
    /// `TOKENLEDGER_BPE_CORPUS_COUNT` say otherwise (for fuzzing with more seeds by hand).
    static let corpusParameters: (seed: Int, count: Int) = {
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["TOKENLEDGER_BPE_CORPUS_SEED"].flatMap { Int($0) } ?? 20_240_611
        let count = environment["TOKENLEDGER_BPE_CORPUS_COUNT"].flatMap { Int($0) } ?? 2400
        return (seed, max(count, 2000))
    }()

    private static let cachedCorpus = Result {
        try corpus(seed: corpusParameters.seed, count: corpusParameters.count)
    }
    private static let cachedAnswers = Result { try tiktoken(cachedCorpus.get(), ids: -1) }
    private static let cachedSplits = Result { try tiktokenSplits(cachedCorpus.get()) }

    /// The default corpus, generated once per test process.
    static func sharedCorpus() throws -> [String] { try cachedCorpus.get() }
    /// tiktoken's counts and ids for the default corpus, computed once per test process.
    static func sharedAnswers() throws -> [EncodingName: Answer] { try cachedAnswers.get() }
    /// tiktoken's splits of the default corpus, computed once per test process.
    static func sharedSplits() throws -> [EncodingName: [[String]?]] { try cachedSplits.get() }

    /// tiktoken's answer for each text.
    struct Answer: Decodable {
        /// Token counts, one per text.
        var counts: [Int]
        /// Full token ids of the first texts.
        var ids: [[Int]]
    }

    /// Runs tiktoken on `texts` for both encodings.
    static func tiktoken(_ texts: [String], ids: Int = 0, allowedSpecial: Bool = false) throws -> [EncodingName: Answer]
    {
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-input-\(UUID().uuidString).json")
        try JSONEncoder().encode(texts).write(to: temp)
        defer { try? FileManager.default.removeItem(at: temp) }
        var arguments = ["counts", "--ranks", try rankDirectory(), "--input", temp.path, "--ids", "\(ids)"]
        if allowedSpecial { arguments.append("--allowed-special") }
        let data = try runScript("bpe_reference.py", arguments)
        let decoded = try JSONDecoder().decode([String: Answer].self, from: data)
        var result: [EncodingName: Answer] = [:]
        for (name, answer) in decoded {
            if let encoding = EncodingName(rawValue: name) { result[encoding] = answer }
        }
        return result
    }

    /// The pieces tiktoken's regex splits each text into (`nil` for texts over `maxBytes`).
    static func tiktokenSplits(_ texts: [String], maxBytes: Int = 200) throws -> [EncodingName: [[String]?]] {
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-split-\(UUID().uuidString).json")
        try JSONEncoder().encode(texts).write(to: temp)
        defer { try? FileManager.default.removeItem(at: temp) }
        let data = try runScript("bpe_reference.py", ["splits", "--input", temp.path, "--max-bytes", "\(maxBytes)"])
        let decoded = try JSONDecoder().decode([String: [[String]?]].self, from: data)
        var result: [EncodingName: [[String]?]] = [:]
        for (name, splits) in decoded {
            if let encoding = EncodingName(rawValue: name) { result[encoding] = splits }
        }
        return result
    }

    /// A string with control characters and non-ASCII escaped, for failure messages.
    static func escaped(_ text: String, limit: Int = 120) -> String {
        var result = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            if scalar.value >= 0x20 && scalar.value < 0x7f && scalar != "\\" {
                result.unicodeScalars.append(scalar)
            } else {
                result += "\\u{\(String(scalar.value, radix: 16))}"
            }
        }
        return text.unicodeScalars.count > limit ? result + "…" : result
    }
}

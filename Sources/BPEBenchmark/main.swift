// Throughput of BytePairEncoding against tiktoken (single-threaded) on the same multilingual text.
//
// Usage: swift run -c release BPEBenchmark [--ranks DIR] [--bytes N] [--runs N] [--scripts DIR]
//
// The text comes from scripts/bpe_corpus.py (seeded), tiktoken's figures from
// scripts/bpe_reference.py bench (encode_ordinary, load time excluded, best of --runs).
// The rank directory is --ranks, else TOKENLEDGER_BPE_DIR, else bpe-openai's data folder.
// Figures go to stdout as `name value unit` lines; diagnostics to stderr.

import BytePairEncoding
import Foundation

struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
}

func option(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

func log(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Runs `python3 SCRIPT ARGS…` and returns its standard output.
func python(_ script: String, _ arguments: [String]) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script] + arguments
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-bench-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: output.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: output) }
    let handle = try FileHandle(forWritingTo: output)
    process.standardOutput = handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try handle.close()
    guard process.terminationStatus == 0 else {
        throw BenchmarkFailure(
            description: "python3 \(script) failed (exit \(process.terminationStatus)); pip install tiktoken bpe-openai"
        )
    }
    return try Data(contentsOf: output)
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func figure(_ name: String, _ value: Double, _ unit: String) {
    print("\(name) \(String(format: "%.2f", value)) \(unit)")
}

func run() throws {
    let scripts =
        option("--scripts")
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts").path
    let reference = scripts + "/bpe_reference.py"
    let corpusScript = scripts + "/bpe_corpus.py"
    let size = Int(option("--bytes") ?? "") ?? 4_000_000
    let runs = Int(option("--runs") ?? "") ?? 5

    let ranks: String
    if let given = option("--ranks") ?? ProcessInfo.processInfo.environment["TOKENLEDGER_BPE_DIR"], !given.isEmpty {
        ranks = given
    } else {
        struct Located: Decodable { var directory: String }
        ranks = try JSONDecoder().decode(Located.self, from: python(reference, ["locate"])).directory
    }

    log("generating \(size) bytes of text")
    let textData = try python(corpusScript, ["text", "--bytes", "\(size)"])
    let textFile = FileManager.default.temporaryDirectory.appendingPathComponent(
        "bpe-bench-text-\(UUID().uuidString).txt")
    try textData.write(to: textFile)
    defer { try? FileManager.default.removeItem(at: textFile) }
    let text = String(decoding: textData, as: UTF8.self)
    let megabytes = Double(textData.count) / 1e6
    figure("text_mb", megabytes, "MB")

    let clock = ContinuousClock()
    var ours: [EncodingName: (count: Double, encode: Double, tokens: Int)] = [:]
    for encoding in EncodingName.allCases {
        let loadStart = clock.now
        let encoder = try BytePairEncoder(encoding: encoding, directory: ranks)
        let load = seconds(clock.now - loadStart)
        let short = encoding == .o200kBase ? "o200k" : "cl100k"
        figure("bpe_\(short)_load_ms", load * 1000, "ms")
        _ = encoder.count(String(text.prefix(10_000)))
        var bestCount = Double.infinity
        var bestEncode = Double.infinity
        var tokens = 0
        for _ in 0..<runs {
            let start = clock.now
            tokens = encoder.count(text)
            bestCount = min(bestCount, seconds(clock.now - start))
        }
        for _ in 0..<runs {
            let start = clock.now
            let encoded = encoder.encode(text)
            bestEncode = min(bestEncode, seconds(clock.now - start))
            precondition(encoded.count == tokens, "encode and count disagree")
        }
        ours[encoding] = (megabytes / bestCount, megabytes / bestEncode, tokens)
    }

    log("running tiktoken (best of \(runs))")
    struct Timing: Decodable {
        var tokens: Int
        var mb_per_s: Double
    }
    let timings = try JSONDecoder().decode(
        [String: Timing].self,
        from: python(reference, ["bench", "--ranks", ranks, "--input", textFile.path, "--runs", "\(runs)"]))

    for encoding in EncodingName.allCases {
        let short = encoding == .o200kBase ? "o200k" : "cl100k"
        guard let mine = ours[encoding], let theirs = timings[encoding.rawValue] else { continue }
        figure("bpe_\(short)_mb_per_s", mine.count, "MB/s")
        figure("bpe_\(short)_encode_mb_per_s", mine.encode, "MB/s")
        figure("tiktoken_\(short)_mb_per_s", theirs.mb_per_s, "MB/s")
        figure("bpe_\(short)_ratio", mine.count / theirs.mb_per_s, "x")
        figure("bpe_\(short)_encode_ratio", mine.encode / theirs.mb_per_s, "x")
        print("bpe_\(short)_tokens \(mine.tokens) tokens")
        print("tiktoken_\(short)_tokens \(theirs.tokens) tokens")
        if mine.tokens != theirs.tokens {
            log("warning: \(encoding.rawValue) token counts differ: \(mine.tokens) vs tiktoken \(theirs.tokens)")
        }
    }
}

do {
    try run()
} catch {
    log("BPEBenchmark: \(error)")
    exit(1)
}

// EstimatorAccuracy: measures HeuristicTokenEstimator against reference
// token counts (tiktoken o200k_base) in a corpus made by
// scripts/estimator_corpus.py, and prints, per category and overall, the
// mean absolute percentage error (MAE) and 90th percentile of the absolute
// percentage error (p90), next to the chars/4 rule's. Exits 1 when a category
// misses a target, 2 on a usage or input error.
//
// Usage: EstimatorAccuracy CORPUS.json [--split holdout|calibration|all]
//                          [--max-mae 8] [--max-p90 15] [--dump-estimates OUT.json]

import Foundation
import TokenLedger

struct Piece: Decodable {
    let category: String
    let text: String
    let reference: Int
    let split: String?
}

struct Options {
    var corpus = ""
    var split = "holdout"
    var maxMAE = 8.0
    var maxP90 = 15.0
    var dumpPath: String?
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("EstimatorAccuracy: \(message)\n".utf8))
    exit(2)
}

func number(_ text: String, _ flag: String) -> Double {
    guard let value = Double(text) else { fail("\(flag) needs a number, not \(text)") }
    return value
}

func parseOptions() -> Options {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst()
    func value(_ flag: String) -> String {
        guard let next = arguments.popFirst() else { fail("\(flag) needs a value") }
        return next
    }
    while let argument = arguments.popFirst() {
        switch argument {
        case "--split": options.split = value(argument)
        case "--max-mae": options.maxMAE = number(value(argument), argument)
        case "--max-p90": options.maxP90 = number(value(argument), argument)
        case "--dump-estimates": options.dumpPath = value(argument)
        case "-h", "--help":
            print(
                "usage: EstimatorAccuracy CORPUS.json [--split holdout|calibration|all] [--max-mae 8] [--max-p90 15] [--dump-estimates OUT.json]"
            )
            exit(0)
        default:
            if argument.hasPrefix("-") || !options.corpus.isEmpty { fail("unexpected argument \(argument)") }
            options.corpus = argument
        }
    }
    if options.corpus.isEmpty { fail("no corpus given (see --help)") }
    if !["holdout", "calibration", "all"].contains(options.split) {
        fail("--split must be holdout, calibration or all")
    }
    return options
}

/// Absolute percentage errors summarised.
struct Summary {
    let count: Int
    let mae: Double
    let p90: Double

    init(_ errors: [Double]) {
        let sorted = errors.sorted()
        count = sorted.count
        mae = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
        // Nearest-rank percentile.
        let rank = Int((0.9 * Double(sorted.count)).rounded(.up))
        p90 = sorted.isEmpty ? 0 : sorted[max(0, rank - 1)]
    }
}

func percent(_ value: Double) -> String { String(format: "%.2f %%", value) }

let options = parseOptions()
let pieces: [Piece]
do {
    let data = try Data(contentsOf: URL(fileURLWithPath: options.corpus))
    pieces = try JSONDecoder().decode([Piece].self, from: data)
} catch {
    fail("cannot read \(options.corpus): \(error)")
}

let estimator = HeuristicTokenEstimator()
let clock = ContinuousClock()
var estimates: [Int] = []
estimates.reserveCapacity(pieces.count)
let elapsed = clock.measure {
    for piece in pieces { estimates.append(estimator.countTokens(in: piece.text)) }
}

if let dumpPath = options.dumpPath {
    do {
        try JSONEncoder().encode(estimates).write(to: URL(fileURLWithPath: dumpPath))
    } catch {
        fail("cannot write \(dumpPath): \(error)")
    }
}

var categories: [String] = []
var estimatorErrors: [String: [Double]] = [:]
var baselineErrors: [String: [Double]] = [:]
for (piece, estimate) in zip(pieces, estimates) {
    guard options.split == "all" || piece.split == options.split else { continue }
    guard piece.reference > 0 else { fail("a piece of \(piece.category) has reference \(piece.reference)") }
    if estimatorErrors[piece.category] == nil { categories.append(piece.category) }
    let reference = Double(piece.reference)
    // chars/4 as the replaced Python system did it: characters are code points.
    let baseline = Double((piece.text.unicodeScalars.count + 3) / 4)
    for key in [piece.category, "overall"] {
        estimatorErrors[key, default: []].append(abs(Double(estimate) - reference) / reference * 100)
        baselineErrors[key, default: []].append(abs(baseline - reference) / reference * 100)
    }
}
if categories.isEmpty { fail("no pieces in split \(options.split)") }

print("EstimatorAccuracy: \(options.split) split of \(options.corpus), reference tiktoken o200k_base")
print("targets: MAE <= \(options.maxMAE) %, p90 <= \(options.maxP90) % per category")
var missed: [String] = []
for category in categories + ["overall"] {
    let estimated = Summary(estimatorErrors[category] ?? [])
    let baseline = Summary(baselineErrors[category] ?? [])
    print("")
    print("estimator_count_\(category) \(estimated.count)")
    print("estimator_mae_\(category) \(percent(estimated.mae))")
    print("estimator_p90_\(category) \(percent(estimated.p90))")
    print("chars4_mae_\(category) \(percent(baseline.mae))")
    print("chars4_p90_\(category) \(percent(baseline.p90))")
    if category != "overall" && (estimated.mae > options.maxMAE || estimated.p90 > options.maxP90) {
        missed.append(category)
    }
}
let characters = pieces.reduce(0) { $0 + $1.text.utf8.count }
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print("")
print(
    String(
        format: "estimator_throughput %.1f MB/s (%d pieces, %d UTF-8 bytes, %.3f s)",
        Double(characters) / max(seconds, 1e-9) / 1e6, pieces.count, characters, seconds))
if missed.isEmpty {
    print("estimator_targets met")
} else {
    print("estimator_targets MISSED: \(missed.joined(separator: ", "))")
    exit(1)
}

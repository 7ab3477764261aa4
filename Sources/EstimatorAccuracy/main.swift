// EstimatorAccuracy: measures the committed HeuristicTokenEstimator weights against reference token
// counts (tiktoken o200k_base and cl100k_base) in a corpus made by scripts/estimator_corpus.py, and
// prints per encoding and category the mean absolute percentage error (MAE), its 90th percentile
// (p90) and the chars/4 rule's, the share of pieces whose reservation estimate covers the exact
// count, and the throughput. The leave-one-source-out table (sources unseen by the fit) is
// scripts/estimator_calibrate.py's; this tool checks the Swift estimator itself: with --mirror it
// also checks that it gives exactly the estimates of the Python mirror the weights were fitted with.
// Exits 1 when a category misses its target or an estimate differs from the mirror's, 2 on a usage
// or input error.
//
// Usage: EstimatorAccuracy CORPUS.json [--mirror ESTIMATES.json]

import BytePairEncoding
import Foundation
import TokenLedger

struct Piece: Decodable {
    let category: String
    let source: String
    let text: String
    let reference: [String: Int]
}

struct Options {
    var corpus = ""
    var mirror: String?
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("EstimatorAccuracy: \(message)\n".utf8))
    exit(2)
}

func parseOptions() -> Options {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst()
    while let argument = arguments.popFirst() {
        switch argument {
        case "--mirror":
            guard let next = arguments.popFirst() else { fail("--mirror needs a file") }
            options.mirror = next
        case "-h", "--help":
            print("usage: EstimatorAccuracy CORPUS.json [--mirror ESTIMATES.json]")
            exit(0)
        default:
            if argument.hasPrefix("-") || !options.corpus.isEmpty { fail("unexpected argument \(argument)") }
            options.corpus = argument
        }
    }
    if options.corpus.isEmpty { fail("no corpus given (see --help)") }
    return options
}

/// The targets of issue 19: MAE and p90 for the four main categories, MAE for the others.
func target(_ category: String) -> (mae: Double, p90: Double?) {
    ["english", "json", "code", "chinese"].contains(category) ? (6, 12) : (10, nil)
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
        let rank = Int((0.9 * Double(sorted.count)).rounded(.up))  // nearest rank
        p90 = sorted.isEmpty ? 0 : sorted[max(0, rank - 1)]
    }
}

func percent(_ value: Double) -> String { String(format: "%6.2f %%", value) }

let options = parseOptions()
let pieces: [Piece]
do {
    pieces = try JSONDecoder().decode([Piece].self, from: Data(contentsOf: URL(fileURLWithPath: options.corpus)))
} catch {
    fail("cannot read \(options.corpus): \(error)")
}
var mirror: [String: [Int]]?
if let path = options.mirror {
    do {
        mirror = try JSONDecoder().decode([String: [Int]].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
        fail("cannot read \(path): \(error)")
    }
}

var problems: [String] = []
for encoding in EncodingName.allCases {
    let estimator = HeuristicTokenEstimator(encoding: encoding)
    var estimates: [Int] = []
    estimates.reserveCapacity(pieces.count)
    let elapsed = ContinuousClock().measure {
        for piece in pieces { estimates.append(estimator.countTokens(in: piece.text)) }
    }
    var categories: [String] = []
    var errors: [String: [Double]] = [:]
    var baseline: [String: [Double]] = [:]
    var covered = 0
    for (piece, estimate) in zip(pieces, estimates) {
        guard let reference = piece.reference[encoding.rawValue], reference > 0 else {
            fail("a piece of \(piece.source) has no \(encoding.rawValue) reference")
        }
        if errors[piece.category] == nil { categories.append(piece.category) }
        let exact = Double(reference)
        let quarter = Double((piece.text.unicodeScalars.count + 3) / 4)
        errors[piece.category, default: []].append(abs(Double(estimate) - exact) / exact * 100)
        baseline[piece.category, default: []].append(abs(quarter - exact) / exact * 100)
        if estimator.reservationCount(in: piece.text) >= reference { covered += 1 }
    }
    print("\n\(encoding.rawValue): the committed weights on every piece of \(options.corpus)")
    print("  category    pieces  estimator MAE    p90  chars/4 MAE    p90")
    for category in categories {
        let estimated = Summary(errors[category] ?? [])
        let quarter = Summary(baseline[category] ?? [])
        let goal = target(category)
        let missed = estimated.mae > goal.mae || (goal.p90.map { estimated.p90 > $0 } ?? false)
        if missed { problems.append("\(encoding.rawValue) \(category)") }
        print(
            "  \(category.padding(toLength: 10, withPad: " ", startingAt: 0)) \(String(format: "%6d", estimated.count))"
                + "  \(percent(estimated.mae)) \(percent(estimated.p90))  \(percent(quarter.mae)) \(percent(quarter.p90))"
                + (missed ? "  MISS" : ""))
    }
    let bytes = pieces.reduce(0) { $0 + $1.text.utf8.count }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print(
        String(
            format: "  reservations cover the exact count for %.1f %% of pieces",
            Double(covered) * 100 / Double(pieces.count)))
    print(
        String(
            format: "  throughput %.1f MB/s (%d pieces, %d UTF-8 bytes)", Double(bytes) / max(seconds, 1e-9) / 1e6,
            pieces.count, bytes))
    if let expected = mirror?[encoding.rawValue] {
        guard expected.count == estimates.count else { fail("the mirror's estimates are for another corpus") }
        let differing = zip(expected, estimates).filter { $0 != $1 }.count
        print("  pieces where the Swift estimator and the Python mirror differ: \(differing)")
        if differing > 0 { problems.append("\(encoding.rawValue) differs from the mirror on \(differing) pieces") }
    }
}
if problems.isEmpty {
    print("\nestimator_targets met")
} else {
    print("\nestimator_targets MISSED: \(problems.joined(separator: ", "))")
    exit(1)
}

import ArgumentParser
import Foundation
import TokenLedger

/// `tokenledger estimate`: counts tokens in text read from stdin.
struct EstimateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "estimate",
        abstract: "Count the tokens of text on stdin (heuristic estimate; exact with --bpe-file).",
        discussion: "Prints one integer; with --json, reads a JSON array of strings and prints a JSON array of integers."
    )

    @Flag(help: "Read a JSON array of strings; print a JSON array of counts.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            let estimator = HeuristicTokenEstimator()
            if json {
                guard let texts = try? JSONDecoder().decode([String].self, from: data) else {
                    throw CLIFailure(exitCode: .dataError, message: "--json expects a JSON array of strings on stdin")
                }
                try printJSON(texts.map { estimator.countTokens(in: $0) })
            } else {
                print(estimator.countTokens(in: String(decoding: data, as: UTF8.self)))
            }
        }
    }
}

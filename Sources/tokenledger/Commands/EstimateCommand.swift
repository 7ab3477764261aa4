import ArgumentParser
import BytePairEncoding
import Foundation
import TokenLedger

extension EncodingName: ExpressibleByArgument {}

/// `tokenledger estimate`: counts tokens in text read from stdin.
struct EstimateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "estimate",
        abstract: "Count the tokens of text on stdin: exact with a rank file, a heuristic estimate otherwise.",
        discussion: """
            Prints one integer; with --json, reads a JSON array of strings and prints a JSON array of integers. \
            --bpe-file (a .tiktoken or .tiktoken.gz rank file, e.g. from the bpe-openai package) or \
            TOKENLEDGER_BPE_DIR makes counts exact; special-token text counts as ordinary text.
            """
    )

    @Option(help: "o200k_base or cl100k_base (default: from the --bpe-file name, else o200k_base).")
    var encoding: EncodingName?

    @Option(name: .customLong("bpe-file"), help: "A tiktoken rank file (.tiktoken or .tiktoken.gz) for exact counts.")
    var bpeFile: String?

    @Flag(help: "Read a JSON array of strings; print a JSON array of counts.")
    var json = false

    @OptionGroup var inputLimit: InputLimitOptions

    func run() async throws {
        try await reportingFailures {
            let cap = try inputLimit.bytes()
            let estimator = try chooseEstimator()
            let data = try readCappedInput("-", cap: cap)
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

    private func chooseEstimator() throws -> any TokenEstimator {
        do {
            if let bpeFile {
                let name = (bpeFile as NSString).lastPathComponent
                let chosen = encoding ?? EncodingName.allCases.first { name.hasPrefix($0.rawValue) } ?? .o200kBase
                return BPETokenEstimator(encoder: try BytePairEncoder(encoding: chosen, rankFile: bpeFile))
            }
            let counting = TokenCounting.fromEnvironment()
            if counting.directory != nil { return try counting.exactEstimator(for: encoding ?? .o200kBase) }
        } catch {
            throw CLIFailure(exitCode: .dataError, message: "\(error)")
        }
        return HeuristicTokenEstimator()
    }
}

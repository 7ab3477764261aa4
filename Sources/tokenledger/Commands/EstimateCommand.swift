import ArgumentParser
import BytePairEncoding
import Foundation
import TokenLedger

extension EncodingName: ExpressibleByArgument {}

/// What `estimate` reads on stdin.
enum EstimateInput: String, ExpressibleByArgument, CaseIterable {
    /// The whole input is one text.
    case text
    /// A JSON array of strings, each counted on its own.
    case json
}

/// `tokenledger estimate`: counts tokens in text read from stdin.
struct EstimateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "estimate",
        abstract: "Count the tokens of text on stdin: exact with a rank file, a heuristic estimate otherwise.",
        discussion: """
            Reads text (--input text, the default) and prints one integer, or reads a JSON array of strings \
            (--input json, or its alias --json) and prints a JSON array of integers. --format table|json|csv \
            renders the counts (default: table for text input, json for JSON input). --bpe-file (a \
            .tiktoken or .tiktoken.gz rank file, e.g. from the bpe-openai package) or TOKENLEDGER_BPE_DIR \
            makes counts exact; special-token text counts as ordinary text.
            """
    )

    @Option(help: "o200k_base or cl100k_base (default: from the --bpe-file name, else o200k_base).")
    var encoding: EncodingName?

    @Option(name: .customLong("bpe-file"), help: "A tiktoken rank file (.tiktoken or .tiktoken.gz) for exact counts.")
    var bpeFile: String?

    @Option(help: "What stdin holds: text (one text) or json (a JSON array of strings, each counted).")
    var input: EstimateInput?

    @Flag(help: "The same as --input json: read a JSON array of strings; print a JSON array of counts.")
    var json = false

    @Option(
        name: .long, help: "Output format: table, json or csv (default: json with --input json, else table).",
        transform: OutputFormat.parseCommon)
    var format: OutputFormat?

    @OptionGroup var inputLimit: InputLimitOptions
    @OptionGroup(visibility: .hidden) var global: GlobalOptions

    func validate() throws {
        if json && input == .text {
            throw ArgumentParser.ValidationError("--json means --input json; not with --input text")
        }
    }

    func run() async throws {
        try await reportingFailures {
            let readsJSON = json || input == .json
            let formatter = try OutputFormatter(common: format ?? (readsJSON ? .json : .table))
            let cap = try await inputLimit.bytes(global)
            let estimator = try chooseEstimator(try await global.localSettings().tokenCounting())
            let data = try readCappedInput("-", cap: cap)
            if readsJSON {
                guard let texts = try? JSONDecoder().decode([String].self, from: data) else {
                    throw CLIFailure(
                        exitCode: .dataError, message: "--input json expects a JSON array of strings on stdin")
                }
                try formatter.print(TokenCountsOutput.list(texts.map { estimator.countTokens(in: $0) }))
            } else {
                try formatter.print(
                    TokenCountsOutput.single(estimator.countTokens(in: String(decoding: data, as: UTF8.self))))
            }
        }
    }

    /// The library's choice (``EstimatorSelection``); a rank file that cannot be used is bad input
    /// (exit 65), whatever its error's category, since the user named it or configured it for this run.
    private func chooseEstimator(_ counting: TokenCounting) throws -> any TokenEstimator {
        do {
            return try EstimatorSelection.estimator(rankFile: bpeFile, encoding: encoding, counting: counting)
        } catch {
            // `path:line: message`, naming the file.
            throw CLIFailure(exitCode: .dataError, message: "cannot use the rank file: " + sentence(for: error))
        }
    }
}

/// `estimate`'s counts: one integer (text input) or one per string (JSON input).
enum TokenCountsOutput: CommandResult {
    case single(Int)
    case list([Int])

    private var counts: [Int] {
        switch self {
        case .single(let count): return [count]
        case .list(let counts): return counts
        }
    }

    /// JSON: the integer, or the array of integers.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .single(let count): try container.encode(count)
        case .list(let counts): try container.encode(counts)
        }
    }

    /// One count per line.
    func renderTable() throws -> String { counts.map { "\($0)\n" }.joined() }

    /// `tokens`, then one count per row.
    func csvRows() throws -> [[String]] { [["tokens"]] + counts.map { [String($0)] } }
}

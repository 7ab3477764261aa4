import ArgumentParser
import Foundation
import TokenLedger

/// `tokenledger extract`: normalizes a provider response read from stdin.
struct ExtractCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Read a provider response on stdin and print its normalized usage record.",
        discussion: """
            Input: a response JSON, a JSON array of stream events, SSE text or NDJSON. Prints \
            {"cache_write_tokens","cached_input_tokens","input_tokens","output_tokens","reasoning_tokens","source","total_tokens"}; \
            subsets the provider did not report are null. A response without an input count (Ollama without \
            prompt_eval_count) prints its output with input 0 and source "estimated". Exit 65 names the JSON path \
            when the input is malformed, and refuses a response that gives only a total (no input/output split).
            """
    )

    @Option(help: "auto, openai, openai-responses, openai-embeddings, anthropic, gemini, bedrock, ollama, mistral, cohere, langchain or aiecs.")
    var provider: String = "auto"

    @OptionGroup var inputLimit: InputLimitOptions
    @OptionGroup var format: JSONFormatOptions
    @OptionGroup(visibility: .hidden) var global: GlobalOptions

    func run() async throws {
        try await reportingFailures {
            let formatter = try format.formatter()
            guard let provider = Provider(name: provider) else {
                throw CLIFailure(
                    exitCode: .usage,
                    message: "unknown provider '\(self.provider)'; use one of \(Provider.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let data = try readCappedInput("-", cap: try await inputLimit.bytes(global))
            let extracted = try UsageExtractor.extractUsage(from: data, provider: provider)
            try formatter.print(try recordableUsage(extracted))
        }
    }
}

/// The record a response gives without a prompt estimate (`extract`, `record --response`).
///
/// A response that reports its output but not its input (Ollama without `prompt_eval_count`) is
/// recorded, never refused: the output was billed. Its input is 0 and its source `estimated`, and a
/// note on stderr says so. A response with only a total (or no output count) cannot be split here:
/// exit 65, naming what is missing.
func recordableUsage(_ extracted: ExtractedUsage) throws -> UsageRecord {
    guard let record = extracted.recordWithoutPromptEstimate else {
        if let total = extracted.onlyTotal {
            throw CLIFailure(
                exitCode: .dataError,
                message: "the response reports only a total of \(total) tokens, without the input/output split; "
                    + "give the counts with record --input N --output N")
        }
        throw CLIFailure(
            exitCode: .dataError,
            message: "the response reports no output count, so the call's usage is unknown; "
                + "give the counts with record --input N --output N")
    }
    if extracted.isInputUnknown {
        printError(
            "note: the response reports no input count (Ollama leaves out prompt_eval_count when the whole "
                + "prompt came from its cache); input_tokens is 0 and the record's source is estimated")
    }
    return record
}

extension UsageRecord: CommandResult {}

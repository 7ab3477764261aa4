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

    @Option(
        help:
            "auto, openai, openai-responses, openai-embeddings, anthropic, gemini, bedrock, ollama, mistral, cohere, langchain or aiecs."
    )
    var provider: String = "auto"

    @OptionGroup var inputLimit: InputLimitOptions
    @OptionGroup var format: JSONFormatOptions
    @OptionGroup(visibility: .hidden) var global: GlobalOptions

    func run() async throws {
        try await reportingFailures {
            let formatter = try format.formatter()
            let provider = try parseProvider(self.provider)
            let data = try readCappedInput("-", cap: try await inputLimit.bytes(global))
            let call = try ExtractedCall(response: data, shape: provider)
            noteUnknownInput(call.isInputUnknown)
            try formatter.print(call.usage)
        }
    }
}

/// The provider a `--provider` name means.
///
/// - Throws: ``CLIFailure`` (exit 64) naming the names there are.
func parseProvider(_ name: String) throws -> Provider {
    guard let provider = Provider(name: name) else {
        throw CLIFailure(
            exitCode: .usage,
            message:
                "unknown provider '\(name)'; use one of \(Provider.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return provider
}

/// Says on stderr that a response reported no input count (`extract`, `record --response`): its
/// record has input 0 and source `estimated` (``ExtractedCall/isInputUnknown``).
func noteUnknownInput(_ isInputUnknown: Bool) {
    guard isInputUnknown else { return }
    printError(
        "note: the response reports no input count (Ollama leaves out prompt_eval_count when the whole "
            + "prompt came from its cache); input_tokens is 0 and the record's source is estimated")
}

extension UsageRecord: CommandResult {}

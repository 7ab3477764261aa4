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
            subsets the provider did not report are null. Exit 65 names the JSON path when the input is malformed.
            """
    )

    @Option(help: "auto, openai, openai-responses, openai-embeddings, anthropic, gemini, bedrock, ollama, mistral, cohere, langchain or aiecs.")
    var provider: String = "auto"

    @OptionGroup var inputLimit: InputLimitOptions

    func run() async throws {
        try await reportingFailures {
            guard let provider = Provider(name: provider) else {
                throw CLIFailure(
                    exitCode: .usage,
                    message: "unknown provider '\(self.provider)'; use one of \(Provider.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let data = try readCappedInput("-", cap: try inputLimit.bytes())
            let extracted = try UsageExtractor.extractUsage(from: data, provider: provider)
            guard let record = extracted.record else {
                throw CLIFailure(
                    exitCode: .dataError,
                    message: "the response reports only a total of \(extracted.onlyTotal.map(String.init) ?? "unknown") tokens (no input/output split)")
            }
            try printJSON(record)
        }
    }
}

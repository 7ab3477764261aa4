import ArgumentParser
import Foundation
import TokenLedger

/// `tokenledger record`: records one call's usage.
struct RecordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record one call's token usage for a user (idempotent per call id).",
        discussion: """
            Prints {"applied","cost_usd","cycle","total_tokens","user"}: cost_usd is the event's cost as priced \
            now (nine decimals; null when its model has no price). applied is false when the call id was already \
            recorded with the same total. The same call id with another total exits 65 (a conflict; nothing \
            changes). Give the counts with --input/--output (and the optional subsets), or a raw provider \
            response with --response FILE (or - for stdin).
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var format: JSONFormatOptions

    @Argument(help: "The user id.")
    var user: String

    @Option(parsing: .unconditional, help: "Input tokens, cache reads and writes included.") var input: String?
    @Option(parsing: .unconditional, help: "Output tokens, reasoning included.") var output: String?
    @Option(parsing: .unconditional, help: "Cache reads (part of --input).") var cached: String?
    @Option(name: .customLong("cache-write"), parsing: .unconditional, help: "Cache writes (part of --input).")
    var cacheWrite: String?
    @Option(
        name: .customLong("cache-write-1h"), parsing: .unconditional,
        help: "1-hour cache writes (part of --cache-write), priced at the model's 1-hour write rate.")
    var cacheWrite1h: String?
    @Option(parsing: .unconditional, help: "Reasoning tokens (part of --output).") var reasoning: String?
    @Option(help: "The model name.") var model: String?
    @Option(help: "The provider name (with --response: how to read it; default auto).") var provider: String?
    @Option(name: .customLong("call-id"), help: "The call's id; a repeat is not counted again (default: a new UUID).")
    var callID: String?
    @Option(help: "Record into the cycle starting on this date (YYYY-MM-DD) instead of the current one.")
    var cycle: String?
    @Option(help: "A raw provider response (JSON, a JSON array of stream events, or SSE text); - reads stdin.")
    var response: String?
    @OptionGroup var inputLimit: InputLimitOptions

    func validate() throws {
        if response != nil {
            if input != nil || output != nil || cached != nil || cacheWrite != nil || cacheWrite1h != nil
                || reasoning != nil
            {
                throw ArgumentParser.ValidationError("give either --response or the counts, not both")
            }
        } else if input == nil || output == nil {
            throw ArgumentParser.ValidationError("give --input and --output (or --response FILE)")
        }
    }

    func run() async throws {
        try await reportingFailures {
            let formatter = try format.formatter()
            var usage: UsageRecord
            var model =
                try self.model.map { m in
                    try Validation.validateModel(m); return m
                } ?? ""
            var provider = self.provider ?? ""
            if let response {
                let data = try readCappedInput(response, cap: try await inputLimit.bytes(global))
                let call = try ExtractedCall(
                    response: data, shape: try parseProvider(provider.isEmpty ? "auto" : provider),
                    providerName: provider, model: model)
                noteUnknownInput(call.isInputUnknown)
                (usage, model, provider) = (call.usage, call.model, call.provider)
            } else {
                usage = UsageRecord(
                    inputTokens: try tokenCount(input ?? "", "--input"),
                    outputTokens: try tokenCount(output ?? "", "--output"),
                    cachedInputTokens: try tokenCount(cached, "--cached"),
                    cacheWriteTokens: try tokenCount(cacheWrite, "--cache-write"),
                    cacheWrite1hTokens: try tokenCount(cacheWrite1h, "--cache-write-1h"),
                    reasoningTokens: try tokenCount(reasoning, "--reasoning"))
            }
            let cycle = try cycleDate(self.cycle)
            let callID = self.callID ?? UUID().uuidString.lowercased()
            guard let spool = try await openSpool(global) else {
                let result = try await global.withRepository { repository in
                    try await repository.record(
                        user: user, callID: callID, usage: usage, model: model, provider: provider, cycle: cycle)
                }
                try formatter.print(result)
                noteAmendment(result)
                return
            }
            // With a spool: Redis down or slow means the event is spooled (fsync'd) and we exit 0.
            let outcome = try await global.withRepository { repository in
                let recorder = UsageRecorder(
                    repository: repository, spool: spool,
                    options: .init(recordTimeout: .seconds(3), replaysInBackground: false))
                return await recorder.withRunning {
                    await recorder.record(
                        user: user, callID: callID, usage: usage, model: model, provider: provider, cycle: cycle)
                }
            }
            switch outcome {
            case .applied(let result), .duplicate(let result):
                try formatter.print(result)
                noteAmendment(result)
            case .spooled:
                try formatter.print(SpooledOutput(user: user, callID: callID))
            case .conflict(let conflict):
                throw conflict
            case .parked(let parked):
                throw parked
            case .rejected(let error), .failed(let error):
                throw error
            }
        }
    }
}

extension SpooledOutput: CommandResult {}

/// The spool named by the configuration (`TOKENLEDGER_SPOOL_DIR`), or `nil` when it is not set.
func openSpool(_ global: GlobalOptions) async throws -> EventSpool? {
    guard let directory = try await global.localSettings().spoolDirectory else { return nil }
    do {
        return try EventSpool(directory: directory)
    } catch {
        throw CLIFailure(exitCode: .internalError, message: error.message)
    }
}

/// Says on stderr that a call landed in a cycle rollover had already closed (its history was amended).
func noteAmendment(_ result: RecordResult) {
    guard result.amendsHistory else { return }
    printError(
        "cycle \(result.cycle) of user '\(result.user)' was already closed; its history was amended with this call "
            + "(see tokenledger history --cycle \(result.cycle))")
}

extension RecordResult: CommandResult {}

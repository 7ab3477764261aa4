import ArgumentParser
import TokenLedger

/// `--model M [--max-output-tokens K]` or `--usd X`: the cost side of `quota check` and `quota reserve`.
struct CostEstimateOptions: ParsableArguments {
    @Option(help: "Price the estimate at this model's rates (--tokens as input, --max-output-tokens as output).")
    var model: String?
    @Option(
        name: .customLong("max-output-tokens"), parsing: .unconditional,
        help: "Output tokens the call may produce (with --model; added to the tokens reserved).")
    var maxOutputTokens: String?
    @Option(
        name: .customLong("usd"), parsing: .unconditional, help: "The cost to reserve, in USD (instead of --model).")
    var usd: String?

    func validate() throws {
        if model != nil && usd != nil {
            throw ArgumentParser.ValidationError(
                "--model and --usd exclude each other: price by the model, or give the amount")
        }
        if maxOutputTokens != nil && model == nil {
            throw ArgumentParser.ValidationError("--max-output-tokens needs --model (it prices the output tokens)")
        }
    }

    /// The tokens to ask for (`tokens` plus the maximum output) and the cost: the model's price of
    /// the estimate, the `--usd` amount, or zero. An unpriced model costs zero, with a note on stderr.
    func estimate(tokens: Int, repository: TokenRepository) async throws -> (tokens: Int, cost: Cost) {
        if let usd { return (tokens, try Validation.parseCurrencyAmount(usd, field: "--usd")) }
        guard let model else { return (tokens, .zero) }
        let output = try tokenCount(maxOutputTokens, "--max-output-tokens") ?? 0
        let total = tokens + output
        try Validation.validateTokenCount(total, field: "--tokens + --max-output-tokens")
        guard let cost = try await repository.estimateCost(model: model, inputTokens: tokens, maxOutputTokens: output)
        else {
            printError(
                "model \(String(reflecting: model)) has no price: reserved by tokens only (see tokenledger price set)")
            return (total, .zero)
        }
        return (total, cost)
    }
}

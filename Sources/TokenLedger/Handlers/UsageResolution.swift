import Foundation

/// Turns what a response reports into a record, estimating only what is missing.
struct UsageResolution {
    /// The record to store, or a reason there is none.
    enum Outcome {
        case record(UsageRecord)
        case failed(String)
    }

    /// Resolves usage in this order: the caller's record; the raw response (a total-only response is
    /// split with `promptEstimate`); a bare total (split the same way); and, when the response reports
    /// nothing, an estimate from the prompt and the output text (marked estimated).
    static func resolve(
        _ response: LLMResponse, provider: String, promptEstimate: Int?, outputText: String?,
        estimator: any TokenEstimator
    ) -> Outcome {
        if let usage = response.usage { return .record(usage) }
        if let raw = response.raw {
            do {
                let extracted = try UsageExtractor.extractUsage(from: raw, provider: Provider(name: provider) ?? .auto)
                if let record = extracted.record { return .record(record) }
                if extracted.onlyTotal != nil || extracted.outputTokens != nil {
                    return .record(extracted.resolved(promptEstimate: promptEstimate ?? 0))
                }
            } catch {
                // Fall through to a total or an estimate; say why if there is neither.
                if response.totalTokens == nil && promptEstimate == nil && (outputText ?? "").isEmpty {
                    return .failed(
                        "the response could not be read (\(error.message)) and there is nothing to estimate from")
                }
            }
        }
        if let total = response.totalTokens {
            let input = min(max(promptEstimate ?? 0, 0), max(total, 0))
            return .record(UsageRecord(inputTokens: input, outputTokens: max(total, 0) - input, source: .estimated))
        }
        let outputText = outputText ?? ""
        if promptEstimate == nil && outputText.isEmpty {
            return .failed("the response reports no usage and there is no prompt or text to estimate from")
        }
        return .record(
            UsageRecord(
                inputTokens: promptEstimate ?? 0, outputTokens: estimator.countTokens(in: outputText),
                source: .estimated))
    }
}

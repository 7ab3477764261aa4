extension UsageRecord {
    /// Checks the record's counts (SPEC "Bad input", "Usage record"): every count from 0 to 10^12,
    /// cache reads plus cache writes within the input, 1-hour writes within the cache writes,
    /// reasoning within the output.
    ///
    /// What recording checks before anything is written, and what ``ModelPrice/cost(of:)`` relies on.
    ///
    /// - Throws: ``ValidationError`` (``ValidationError/Code/invalidTokenCount``) naming the field.
    public func validateCounts() throws(ValidationError) {
        try Validation.validateTokenCount(inputTokens, field: "input_tokens")
        try Validation.validateTokenCount(outputTokens, field: "output_tokens")
        if let cached = cachedInputTokens { try Validation.validateTokenCount(cached, field: "cached_input_tokens") }
        if let write = cacheWriteTokens { try Validation.validateTokenCount(write, field: "cache_write_tokens") }
        if let write1h = cacheWrite1hTokens {
            try Validation.validateTokenCount(write1h, field: "cache_write_1h_tokens")
        }
        if let reasoning = reasoningTokens { try Validation.validateTokenCount(reasoning, field: "reasoning_tokens") }
        // Each is ≤ 10^12 by now, so the sum cannot overflow.
        let inputSubsets = (cachedInputTokens ?? 0) + (cacheWriteTokens ?? 0)
        if inputSubsets > inputTokens {
            throw ValidationError(
                code: .invalidTokenCount, field: "cached_input_tokens",
                message:
                    "cached_input_tokens + cache_write_tokens (\(inputSubsets)) is more than input_tokens (\(inputTokens)); they are part of it"
            )
        }
        if let write1h = cacheWrite1hTokens, write1h > (cacheWriteTokens ?? 0) {
            let writes = cacheWriteTokens.map { "cache_write_tokens (\($0))" } ?? "cache_write_tokens (not reported)"
            throw ValidationError(
                code: .invalidTokenCount, field: "cache_write_1h_tokens",
                message: "cache_write_1h_tokens (\(write1h)) is more than \(writes); the 1-hour writes are part of it")
        }
        if let reasoning = reasoningTokens, reasoning > outputTokens {
            throw ValidationError(
                code: .invalidTokenCount, field: "reasoning_tokens",
                message:
                    "reasoning_tokens (\(reasoning)) is more than output_tokens (\(outputTokens)); it is part of it")
        }
    }
}

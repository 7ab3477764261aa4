extension ModelPrice {
    /// The cost of one event, in exact integer nano-USD (SPEC "Cost and currency budgets"):
    ///
    ///     (input − cached − cache_write) × input
    ///       + cached × cached_input
    ///       + (cache_write − cache_write_1h) × cache_write
    ///       + cache_write_1h × cache_write_1h
    ///       + output × output                       (reasoning is inside output)
    ///
    /// at the rates of the tier the event's input falls in (``rates(forInputTokens:)``; a tier
    /// prices the whole request), each rate in nano-USD per million tokens. The sum is exact (128-bit
    /// integers) and divided by 10^6 once, rounded half away from zero: one rounding per event.
    /// Unreported subsets count as 0 (cache reads and writes unreported are billed as uncached input;
    /// writes not split by duration are billed at the 5-minute rate).
    ///
    /// The result always fits: rates are at most ``PriceRate/maximum`` and a valid record has at most
    /// 2 × 10^12 tokens, so the cost is below 8 × 10^18 nano-USD.
    ///
    /// - Parameter record: The event's counts.
    /// - Returns: The cost, rounded once to a nano-USD.
    /// - Throws: ``ValidationError`` when the record's counts are not valid
    ///   (``UsageRecord/validateCounts()``); nothing is priced then.
    public func cost(of record: UsageRecord) throws(ValidationError) -> Cost {
        try record.validateCounts()
        let rates = rates(forInputTokens: record.inputTokens)
        let cached = record.cachedInputTokens ?? 0
        let writes = record.cacheWriteTokens ?? 0
        let writes1h = record.cacheWrite1hTokens ?? 0
        let terms: [(tokens: Int, rate: PriceRate)] = [
            (record.inputTokens - cached - writes, rates.input),
            (cached, rates.cachedInput),
            (writes - writes1h, rates.cacheWrite),
            (writes1h, rates.cacheWrite1h),
            (record.outputTokens, rates.output),
        ]
        // Each product is at most 10^12 × 4 × 10^12 = 4 × 10^24 femto-USD, and so their sum is far
        // inside Int128 (1.7 × 10^38); the quotient is below 8 × 10^18, inside Int.
        var femtoUSD: Int128 = 0
        for term in terms {
            femtoUSD += Int128(term.tokens) * Int128(term.rate.nanoUSDPerMillionTokens)
        }
        return Cost(nanoUSD: Int(Self.roundedHalfAwayFromZero(femtoUSD, dividedBy: 1_000_000)))
    }

    /// `value ÷ divisor` rounded to the nearest integer, halves away from zero.
    static func roundedHalfAwayFromZero(_ value: Int128, dividedBy divisor: Int128) -> Int128 {
        let (quotient, remainder) = value.quotientAndRemainder(dividingBy: divisor)
        if remainder.magnitude * 2 >= divisor.magnitude {
            return value < 0 ? quotient - 1 : quotient + 1
        }
        return quotient
    }
}

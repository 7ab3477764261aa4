// Validation: currency limits and reservation amounts (integer nano-USD, SPEC "Cost and currency budgets").
extension Validation {
    /// Parses a currency limit or amount: USD as a decimal number with at most nine decimals, from 0
    /// to ``maximumLimit`` nano-USD (2^53 − 1, about 9 million USD: the largest amount a Lua script
    /// compares exactly).
    ///
    /// - Parameters:
    ///   - text: The decimal text (`"25"`, `"0.03"`, `"1.000000001"`).
    ///   - field: The field named in the error (`--usd`, `usd`).
    /// - Returns: The amount.
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidLimit`` naming `field`
    ///   when the text is not a number, negative, has a non-zero digit past the ninth decimal, or is
    ///   beyond 2^53 − 1 nano-USD.
    public static func parseCurrencyAmount(_ text: String, field: String) throws(ValidationError) -> Cost {
        var label: String { ValidationError.label(field) }  // built only for an error message
        switch ExactDecimal.scaled(text, by: 9, maximum: maximumLimit) {
        case .success(let nano):
            return Cost(nanoUSD: nano)
        case .failure(let failure):
            let reason =
                switch failure {
                case .negative: "an amount of USD cannot be negative"
                case .tooPrecise: "an amount of USD has at most nine decimals (1 nano-USD)"
                case .tooLarge: "the largest amount is 9007199.254740991 USD (2^53 - 1 nano-USD)"
                case .notANumber: "it must be a decimal number of USD, such as 25 or 0.03"
                }
            throw ValidationError(
                code: .invalidLimit, field: field, message: "\(label) is \(ValidationError.quoted(text)); \(reason)")
        }
    }

    /// Checks a currency limit or amount: from 0 to ``maximumLimit`` nano-USD.
    ///
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidLimit`` naming `field`.
    public static func validateCurrencyAmount(_ amount: Cost, field: String) throws(ValidationError) {
        guard amount.nanoUSD >= 0, amount.nanoUSD <= maximumLimit else {
            throw ValidationError(
                code: .invalidLimit, field: field,
                message: "\(ValidationError.label(field)) is \(amount) USD; it must be from 0 to 9007199.254740991 USD")
        }
    }
}

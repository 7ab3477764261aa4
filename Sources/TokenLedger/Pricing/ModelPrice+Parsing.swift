extension ModelPrice.Tier {
    /// The shape of a tier given as text (`price set --tier`).
    public static let textFormat = "ABOVE:INPUT:OUTPUT[:CACHED_INPUT[:CACHE_WRITE[:CACHE_WRITE_1H]]]"

    /// Parses a tier given as `ABOVE:INPUT:OUTPUT[:CACHED_INPUT[:CACHE_WRITE[:CACHE_WRITE_1H]]]`:
    /// above `ABOVE` input tokens, these rates in USD per million tokens (`200000:6:22.5:0.6:7.5:12`).
    ///
    /// - Parameters:
    ///   - text: The tier.
    ///   - field: The option named in errors (`--tier`).
    /// - Throws: ``ValidationError`` (``ValidationError/Code/invalidPrice``) naming `field` and the part
    ///   that is wrong: too few or too many parts, `ABOVE` not a whole number from 1 to 10^12, a bad rate.
    public init(parsing text: String, field: String = "--tier") throws(ValidationError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (3...6).contains(parts.count) else {
            throw ValidationError(
                code: .invalidPrice, field: field,
                message:
                    "\(field) is \(ValidationError.quoted(text)); expected \(Self.textFormat) (rates in USD per million tokens), e.g. 200000:6:22.5:0.6"
            )
        }
        let aboveText = parts[0]
        guard !aboveText.isEmpty, aboveText.utf8.count <= 13, aboveText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let above = Int(aboveText), above >= 1, above <= Validation.maximumTokenCount
        else {
            throw ValidationError(
                code: .invalidPrice, field: field,
                message:
                    "\(field) is \(ValidationError.quoted(text)); ABOVE (\(ValidationError.quoted(aboveText))) must be a whole number of input tokens from 1 to 10^12"
            )
        }
        let names = ["input", "output", "cached input", "cache write", "cache write 1h"]
        var rates: [PriceRate] = []
        for (index, part) in parts.dropFirst().enumerated() {
            rates.append(try PriceRate(usdPerMillionTokens: part, field: "\(field) \(names[index])"))
        }
        try self.init(
            above: above, input: rates[0], output: rates[1], cachedInput: rates.count > 2 ? rates[2] : nil,
            cacheWrite: rates.count > 3 ? rates[3] : nil, cacheWrite1h: rates.count > 4 ? rates[4] : nil)
    }

    /// The tier as ``init(parsing:field:)`` reads it, every rate written out (defaults applied).
    public var text: String {
        let rates = self.rates
        return [
            String(above), rates.input.description, rates.output.description, rates.cachedInput.description,
            rates.cacheWrite.description, rates.cacheWrite1h.description,
        ].joined(separator: ":")
    }
}

/// The cost a provider reports for a call, read beside its usage (never used to price the event):
///
/// - OpenRouter: `usage.cost`, a JSON number of USD (`0.000146625`), in every response with usage
///   accounting (the default).
/// - xAI: `usage.cost_in_usd_ticks`, an integer of ticks (10^-10 USD).
///
/// Both become a ``Cost``, rounded once, half away from zero, to a nano-USD (a tick is 0.1 nano-USD).
/// The USD amount is converted from its decimal text, never by multiplying a binary float: the
/// parser holds a JSON number as the `Double` nearest its text, and its shortest round-trip text
/// (`Double.description`) is the text itself for every number written with at most 15 significant
/// digits, and for every number JavaScript or Python serialized (they write that same shortest
/// text); that text is then scaled exactly (`ExactDecimal.rounded`).
enum ReportedCostReading {
    /// The reported cost in a usage object, or `nil` when it has none (absent or `null`) or none this
    /// reader understands: a reported cost is kept beside the computed one, never needed, so a
    /// provider whose `cost` is another shape (Perplexity's is an object) or out of range loses only
    /// the reported cost, never the call's token usage.
    static func read(_ usage: [String: JSONValue], at path: JSONPath) -> Cost? {
        if let value = usage["cost"], !value.isNull {
            return try? usd(value, at: path.appending("cost"))
        }
        if let value = usage["cost_in_usd_ticks"], !value.isNull {
            return try? ticks(value, at: path.appending("cost_in_usd_ticks"))
        }
        return nil
    }

    /// A USD amount (OpenRouter's `cost`).
    static func usd(_ value: JSONValue, at path: JSONPath) throws(ExtractionError) -> Cost {
        guard let number = value.numberValue, number.isFinite else {
            throw ExtractionError(
                .invalidValue, at: path, "a cost must be a number of USD, not \(value.kindDescription)")
        }
        guard number >= 0 else {
            throw ExtractionError(.invalidValue, at: path, "a cost must not be negative (\(JSONValue.render(number)))")
        }
        switch ExactDecimal.rounded(number.description, by: 9, maximum: EventCost.maximumNanoUSD) {
        case .success(let nano): return Cost(nanoUSD: nano)
        case .failure:
            throw ExtractionError(
                .invalidValue, at: path, "the cost \(JSONValue.render(number)) USD is above 2^53 - 1 nano-USD")
        }
    }

    /// A whole number of ticks of 10^-10 USD (xAI's `cost_in_usd_ticks`).
    static func ticks(_ value: JSONValue, at path: JSONPath) throws(ExtractionError) -> Cost {
        guard let number = value.numberValue, number.isFinite, number >= 0, number == number.rounded(),
            number < 9.0e16
        else {
            throw ExtractionError(
                .invalidValue, at: path,
                "cost_in_usd_ticks must be a whole number of ticks (10^-10 USD) from 0 to 2^53 - 1, not "
                    + value.kindDescription)
        }
        let ticks = Int(number)
        // Half a nano-USD (5 ticks) rounds away from zero.
        let nano = (ticks + 5) / 10
        guard nano <= EventCost.maximumNanoUSD else {
            throw ExtractionError(.invalidValue, at: path, "the cost is above 2^53 - 1 nano-USD")
        }
        return Cost(nanoUSD: nano)
    }
}

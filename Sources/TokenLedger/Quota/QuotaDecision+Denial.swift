// QuotaDecision: the sentence that says which limit refused a request.
extension QuotaDecision {
    /// Why the request was denied, naming the limit (`nil` when it was allowed): for the token limit
    /// "the token limit does not admit 500 more tokens: 900 used and 0 reserved of 1000", for the
    /// currency limit "the currency limit (usd) does not admit 0.030000000 USD more: 0.990000000 spent
    /// and 0.000000000 reserved of 1.000000000 USD".
    /// A denial by a team or an org names it first: "team:research: the token limit does not admit …".
    public var denialReason: String? {
        guard !allowed else { return nil }
        guard let deniedScope, !deniedScope.hasPrefix("user:") else { return limitReason }
        return deniedScope + ": " + limitReason
    }

    private var limitReason: String {
        switch deniedBy {
        case .usd:
            return "the currency limit (usd) does not admit \(requestedCost) USD more: \(usedCost) spent and "
                + "\(reservedCost) reserved of \(limitUSD.map { "\($0) USD" } ?? "no limit")"
        case .tokens, nil:
            return "the token limit does not admit \(requested) more tokens: \(used) used and \(reserved) reserved "
                + "of \(limit.map(String.init) ?? "no limit")"
        }
    }
}

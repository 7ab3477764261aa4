// QuotaDecision: the sentence that says which limit refused a request.
extension QuotaDecision {
    /// Why the request was denied, naming the limit (`nil` when it was allowed): for the token limit
    /// "the token limit does not admit 500 more tokens: 900 used and 0 reserved of 1000", for the
    /// currency limit "the currency limit (usd) does not admit 0.030000000 USD more: 0.990000000 spent
    /// and 0.000000000 reserved of 1.000000000 USD".
    /// A denial by a team or an org names it first: "team:research: the token limit does not admit …".
    /// A rate denial names the limit, the window and the wait: "the rate limit (tpm) does not admit 500
    /// more tokens now: 9800 in the last 60 s of 10000; retry after 41250 ms".
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
        case .tpm:
            guard let retryAfterMilliseconds else {
                return
                    "the rate limit (tpm) never admits \(requested) tokens: more than its \(tpm.map(String.init) ?? "?") "
                    + "tokens per minute"
            }
            return
                "the rate limit (tpm) does not admit \(requested) more tokens now: \(windowTokens) in the last 60 s of "
                + "\(tpm.map(String.init) ?? "no limit"); retry after \(retryAfterMilliseconds) ms"
        case .rpm:
            return "the rate limit (rpm) does not admit another request now: \(windowRequests) in the last 60 s of "
                + "\(rpm.map(String.init) ?? "no limit"); retry after \(retryAfterMilliseconds.map(String.init) ?? "?") ms"
        case .tokens, nil:
            return "the token limit does not admit \(requested) more tokens: \(used) used and \(reserved) reserved "
                + "of \(limit.map(String.init) ?? "no limit")"
        }
    }
}

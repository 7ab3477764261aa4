/// How `report` orders users.
public enum ReportSort: String, Sendable, CaseIterable, Codable {
    /// By total tokens, largest first.
    case total
    /// By input tokens, largest first.
    case input
    /// By output tokens, largest first.
    case output
    /// By recorded cost (`cost_usd`), largest first; a cycle without cost sorts as zero.
    case cost

    /// The value users are ranked by (largest first), from their counters and money.
    func key(_ counts: TokenCounts, _ money: CycleCost) -> Int {
        switch self {
        case .total: counts.inputTokens + counts.outputTokens
        case .input: counts.inputTokens
        case .output: counts.outputTokens
        case .cost: money.cost?.nanoUSD ?? 0
        }
    }
}

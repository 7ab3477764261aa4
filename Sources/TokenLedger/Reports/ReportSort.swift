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
}

/// How `report` orders users.
public enum ReportSort: String, Sendable, CaseIterable, Codable {
    /// By total tokens, largest first.
    case total
    /// By input tokens, largest first.
    case input
    /// By output tokens, largest first.
    case output
}

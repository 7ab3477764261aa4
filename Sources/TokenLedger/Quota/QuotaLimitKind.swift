/// Which of a user's limits a quota decision is about: the token limit or the currency limit.
///
/// JSON: `"tokens"` or `"usd"` (the `denied_by` field of a ``QuotaDecision``).
public enum QuotaLimitKind: String, Sendable, Hashable, Codable {
    /// The token limit per cycle (`limit set USER N`).
    case tokens
    /// The currency limit per cycle (`limit set USER --usd X`), compared with the cycle's spend.
    case usd
}

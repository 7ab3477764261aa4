/// Which of a scope's limits a quota decision is about: the token limit, the currency limit, or a
/// rate limit.
///
/// JSON: `"tokens"`, `"usd"`, `"tpm"` or `"rpm"` (the `denied_by` field of a ``QuotaDecision``).
public enum QuotaLimitKind: String, Sendable, Hashable, Codable {
    /// The token limit per cycle (`limit set USER N`).
    case tokens
    /// The currency limit per cycle (`limit set USER --usd X`), compared with the cycle's spend.
    case usd
    /// The tokens-per-minute rate limit (`rate set SCOPE --tpm N`), over a sliding 60 s window.
    case tpm
    /// The requests-per-minute rate limit (`rate set SCOPE --rpm N`), over a sliding 60 s window.
    case rpm

    /// Whether this is a rate limit (`tpm` or `rpm`): a denial that passes with time.
    public var isRate: Bool { self == .tpm || self == .rpm }
}

/// The version of the TokenLedger library and CLI.
public enum TokenLedgerVersion {
    /// The version string (semantic versioning).
    public static let current = "0.1.0"
}

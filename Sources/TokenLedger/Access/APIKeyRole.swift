/// What an API key of `tokenledger serve` may do (SPEC: Service).
///
/// - ``app``: record, check, reserve, settle, release and extract (an application's key);
/// - ``read``: read usage and reports (a dashboard's key);
/// - ``admin``: everything, limits and cycle policies included.
///
/// Encoded as its name (`"app"`, `"read"`, `"admin"`), as the CLI prints it and `--role` reads it.
public enum APIKeyRole: String, Sendable, Hashable, Codable, CaseIterable {
    /// Records, checks, reserves, settles, releases and extracts.
    case app
    /// Reads usage and reports.
    case read
    /// May do everything.
    case admin

    /// Whether a key of this role may do what `required` allows: ``admin`` may do everything;
    /// ``app`` only what ``app`` may; ``read`` only what ``read`` may.
    ///
    /// - Parameter required: The role an endpoint asks for.
    /// - Returns: `true` when a key of this role is let through.
    public func permits(_ required: APIKeyRole) -> Bool {
        self == .admin || self == required
    }
}

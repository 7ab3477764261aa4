/// An API key of `tokenledger serve` as it is listed: its name, role and creation time, never its
/// secret (only a hash of the secret is stored; see ``APIKeyStore``).
///
/// JSON (the CLI's `key list`): `{"created_at","name","role"}`, snake_case.
public struct APIKey: Sendable, Hashable, Codable {
    /// The key's unique name: 1–64 bytes of `A-Z a-z 0-9 _ . -`, e.g. `billing-service`.
    public var name: String
    /// What the key may do.
    public var role: APIKeyRole
    /// When the key was created, ISO 8601 in UTC with whole seconds, e.g. `2026-11-28T18:00:00Z`.
    public var createdAt: String

    /// Creates a key description.
    ///
    /// - Parameters:
    ///   - name: The key's name.
    ///   - role: What it may do.
    ///   - createdAt: When it was created (ISO 8601, UTC).
    public init(name: String, role: APIKeyRole, createdAt: String) {
        self.name = name
        self.role = role
        self.createdAt = createdAt
    }

    /// The JSON names: `created_at`, `name`, `role`.
    enum CodingKeys: String, CodingKey {
        case name, role
        case createdAt = "created_at"
    }
}

/// An API key of `tokenledger serve` as it is listed: its name, role and creation time, never its
/// secret (only a hash of the secret is stored; see ``APIKeyStore``).
///
/// JSON (the CLI's `key list`): `{"created_at","name","role"}`, snake_case, and `default_user` for a
/// key that has one.
public struct APIKey: Sendable, Hashable, Codable {
    /// The key's unique name: 1–64 bytes of `A-Z a-z 0-9 _ . -`, e.g. `billing-service`.
    public var name: String
    /// What the key may do.
    public var role: APIKeyRole
    /// When the key was created, ISO 8601 in UTC with whole seconds, e.g. `2026-11-28T18:00:00Z`.
    public var createdAt: String
    /// The user the proxy routes book a call to when the request names none (`key create
    /// --default-user`); `nil`: the service's configured default user, else such a call is refused.
    public var defaultUser: String?

    /// Creates a key description.
    ///
    /// - Parameters:
    ///   - name: The key's name.
    ///   - role: What it may do.
    ///   - createdAt: When it was created (ISO 8601, UTC).
    ///   - defaultUser: The user of proxied calls that name none; `nil` (default): none of its own.
    public init(name: String, role: APIKeyRole, createdAt: String, defaultUser: String? = nil) {
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.defaultUser = defaultUser
    }

    /// The JSON names: `created_at`, `name`, `role`, `default_user` (written only when set).
    enum CodingKeys: String, CodingKey {
        case name, role
        case createdAt = "created_at"
        case defaultUser = "default_user"
    }
}

/// A key just made by ``APIKeyStore/create(name:role:defaultUser:)``: its description and its secret, which is
/// returned this once and never stored (Redis keeps only its SHA-256).
///
/// `description` and `dump` leave the secret out, so logging the value by accident shows no secret.
public struct CreatedAPIKey: Sendable, CustomStringConvertible, CustomReflectable {
    /// The key's name, role and creation time.
    public var key: APIKey
    /// The bearer secret (`tl_<key id>_<random>`), to hand to the key's owner once.
    public var secret: String

    /// Pairs a key with its secret.
    ///
    /// - Parameters:
    ///   - key: The key's description.
    ///   - secret: Its secret.
    public init(key: APIKey, secret: String) {
        self.key = key
        self.secret = secret
    }

    /// `API key 'NAME' (role R, created T)`, without the secret.
    public var description: String {
        "API key '\(key.name)' (role \(key.role.rawValue), created \(key.createdAt))"
    }

    /// A mirror with the key only (the secret redacted), so `dump` and debuggers show no secret.
    public var customMirror: Mirror {
        Mirror(self, children: ["key": key, "secret": "<redacted>"], displayStyle: .struct)
    }
}

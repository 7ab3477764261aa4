/// The Redis keys of ``APIKeyStore`` (layout in `docs/schema.md`).
///
/// Both are namespace-wide (`{global}` tag, one cluster slot), so `apikey_create.lua` and
/// `apikey_revoke.lua` change them together. Their suffixes (`apikeys`, `apikey-names`) are never a
/// per-user suffix, so a user named `global` cannot collide with them.
extension LedgerKeys {
    /// Hash: key id (16 lowercase hex digits) → the key's record (JSON: `created_at`, `name`,
    /// `role`, `sha256`, the SHA-256 of the whole secret in hex). What authentication reads.
    public var apiKeys: String { namespace + ":{global}:apikeys" }
    /// Hash: key name → key id. What `key create` (unique names) and `key revoke NAME` use.
    public var apiKeyNames: String { namespace + ":{global}:apikey-names" }
}

import RedisClient

// LedgerKeys.User: the rate-limit window of a scope (docs/schema.md, "Rate limits").
extension LedgerKeys.User {
    /// Sorted set of the scope's rate-window entries (entry id → ms when charged, server clock): the
    /// requests of the last 60 s. Written only while a `tpm` or `rpm` limit applies; expires a little
    /// after the last charge's window.
    public var rate: String { prefix + "rate" }
    /// Hash of the tokens each rate-window entry charged (entry id → tokens); the field `""` holds
    /// their sum (no call id is empty). Expires with ``rate``.
    public var rateTokens: String { prefix + "rate-tokens" }
    /// The two rate keys, in the order the scripts take them.
    var rateKeys: [any RedisArgumentConvertible] { [rate, rateTokens] }

    /// The default `tpm` and `rpm` as the scripts' last two arguments, or none at all without
    /// defaults (the scripts read absent ones as none): the hot path sends no bytes for them then.
    static func rateArguments(_ tpm: Int?, _ rpm: Int?) -> [any RedisArgumentConvertible] {
        tpm == nil && rpm == nil ? [] : [tpm ?? -1, rpm ?? -1]
    }
}

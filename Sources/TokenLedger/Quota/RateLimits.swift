/// A scope's rate limits: its own `tpm` and `rpm` (tokens and requests per sliding 60 s) and the
/// namespace defaults that apply to a user without its own (a team or an org has no default).
///
/// JSON: `{"scope","tpm","rpm","default_tpm","default_rpm","effective_tpm","effective_rpm"}`, each
/// limit `null` when there is none.
public struct RateLimits: Sendable, Hashable, Codable {
    /// The scope (`user:ID`, `team:ID`, `org:ID`).
    public var scope: String
    /// The scope's own tokens-per-minute limit (`nil`: none of its own).
    public var tpm: Int?
    /// The scope's own requests-per-minute limit (`nil`: none of its own).
    public var rpm: Int?
    /// The default tokens-per-minute limit that applies without an own one (always `nil` for a group).
    public var defaultTPM: Int?
    /// The default requests-per-minute limit that applies without an own one (always `nil` for a group).
    public var defaultRPM: Int?

    /// The tokens-per-minute limit that applies: the own one, else the default.
    public var effectiveTPM: Int? { tpm ?? defaultTPM }
    /// The requests-per-minute limit that applies: the own one, else the default.
    public var effectiveRPM: Int? { rpm ?? defaultRPM }

    /// Creates the limits of a scope.
    public init(scope: String, tpm: Int?, rpm: Int?, defaultTPM: Int?, defaultRPM: Int?) {
        self.scope = scope
        self.tpm = tpm
        self.rpm = rpm
        self.defaultTPM = defaultTPM
        self.defaultRPM = defaultRPM
    }

    enum CodingKeys: String, CodingKey {
        case scope, tpm, rpm, defaultTPM = "default_tpm", defaultRPM = "default_rpm"
        case effectiveTPM = "effective_tpm", effectiveRPM = "effective_rpm"
    }

    /// Decodes the limits (the effective ones are derived and ignored).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        scope = try c.decode(String.self, forKey: .scope)
        tpm = try c.decodeIfPresent(Int.self, forKey: .tpm)
        rpm = try c.decodeIfPresent(Int.self, forKey: .rpm)
        defaultTPM = try c.decodeIfPresent(Int.self, forKey: .defaultTPM)
        defaultRPM = try c.decodeIfPresent(Int.self, forKey: .defaultRPM)
    }

    /// Encodes every field, `null` for a limit that is not there.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(scope, forKey: .scope)
        try c.encode(tpm, forKey: .tpm)
        try c.encode(rpm, forKey: .rpm)
        try c.encode(defaultTPM, forKey: .defaultTPM)
        try c.encode(defaultRPM, forKey: .defaultRPM)
        try c.encode(effectiveTPM, forKey: .effectiveTPM)
        try c.encode(effectiveRPM, forKey: .effectiveRPM)
    }
}

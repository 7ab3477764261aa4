/// What a replay did.
public struct ReplayResult: Sendable, Hashable, Codable {
    /// Events replayed that were applied now.
    public var applied = 0
    /// Events replayed that Redis already had (idempotent duplicates).
    public var duplicates = 0
    /// Events that can never apply (bad data), moved to a `rejected-*.jsonl` file.
    public var rejected = 0
    /// Torn lines discarded (a writer died in the middle of an append).
    public var torn = 0
    /// Events still waiting (Redis failed during the replay, or another process is writing them).
    public var remaining = 0
    /// Events of another namespace than the replaying repository's: left in the spool for a flush
    /// with that namespace (included in ``remaining``). JSON `other_namespace`, present only when not 0.
    public var otherNamespace = 0
    /// Events moved to the parked file: their cycle's call ids were dropped after the dedupe window
    /// (``ParkedWrite``, ``ParkedEvents``). JSON `parked`, present only when not 0.
    public var parked = 0

    /// Empty counts.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case applied, duplicates, rejected, torn, remaining
        case otherNamespace = "other_namespace"
        case parked
    }

    /// Decodes counts (`other_namespace` and `parked` may be absent).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        applied = try c.decode(Int.self, forKey: .applied)
        duplicates = try c.decode(Int.self, forKey: .duplicates)
        rejected = try c.decode(Int.self, forKey: .rejected)
        torn = try c.decode(Int.self, forKey: .torn)
        remaining = try c.decode(Int.self, forKey: .remaining)
        otherNamespace = try c.decodeIfPresent(Int.self, forKey: .otherNamespace) ?? 0
        parked = try c.decodeIfPresent(Int.self, forKey: .parked) ?? 0
    }

    /// Encodes the counts; `other_namespace` only when some events were left for another namespace,
    /// `parked` only when some were parked.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(applied, forKey: .applied)
        try c.encode(duplicates, forKey: .duplicates)
        try c.encode(rejected, forKey: .rejected)
        try c.encode(torn, forKey: .torn)
        try c.encode(remaining, forKey: .remaining)
        if otherNamespace > 0 { try c.encode(otherNamespace, forKey: .otherNamespace) }
        if parked > 0 { try c.encode(parked, forKey: .parked) }
    }
}

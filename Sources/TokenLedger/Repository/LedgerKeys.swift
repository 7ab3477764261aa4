/// Builds every Redis key TokenLedger uses (layout in `docs/schema.md`).
///
/// A user's keys share the cluster hash tag `{escaped user id}`, so every per-user script touches
/// one slot. Namespace-wide keys share the tag `{global}`; their suffixes never equal a per-user
/// suffix, so a user named `global` cannot collide with them.
public struct LedgerKeys: Sendable, Hashable {
    /// The schema version this code writes (`<namespace>:{global}:schema`).
    ///
    /// Version 2 stores call ids as fingerprints in buckets (``CallFingerprint``); version 1 stored
    /// them as they were in one `calls:<D>` hash per user and cycle (`tokenledger migrate` converts).
    public static let schemaVersion = 2

    /// The prefix of every key (validated: 1–64 bytes of `A-Z a-z 0-9 _ . -`).
    public let namespace: String

    /// Creates the key builder for a namespace.
    ///
    /// - Throws: ``ValidationError`` when the namespace is not valid.
    public init(namespace: String) throws(ValidationError) {
        try Validation.validateNamespace(namespace)
        self.namespace = namespace
    }

    /// The keys of one user.
    public struct User: Sendable, Hashable {
        /// `<ns>:{<user>}:` — the common prefix.
        public let prefix: String
        /// Hash: `limit`, `limit_usd_nano`, `policy` (what an administrator sets).
        public var profile: String { prefix + "profile" }
        /// Integer: tokens held by live leases.
        public var reserved: String { prefix + "reserved" }
        /// Hash of lease tokens by call id.
        public var leases: String { prefix + "leases" }
        /// Hash of lease costs by call id (nano-USD; a lease without one costs 0).
        public var leaseCosts: String { prefix + "lease-usd" }
        /// Integer: nano-USD held by live leases.
        public var reservedCost: String { prefix + "reserved-usd" }
        /// Sorted set of lease expiry (ms since 1970, server clock) by call id.
        public var leaseExpiry: String { prefix + "lease-expiry" }
        /// Stream of threshold and audit events.
        public var events: String { prefix + "events" }
        /// Hash of the cycle's counters and per-model breakdown.
        public func cycle(_ cycle: CalendarDate) -> String { self.cycle(named: cycle.description) }
        /// Schema version 1's hash of the call ids recorded in the cycle (call id → total tokens); the
        /// current layout spreads fingerprints over ``callBucket(named:bucket:)`` hashes instead
        /// (`tokenledger migrate` converts; retention still deletes a leftover one).
        public func calls(_ cycle: CalendarDate) -> String { calls(named: cycle.description) }
        /// ``cycle(_:)`` for a cycle name already formatted as `YYYY-MM-DD`.
        public func cycle(named name: String) -> String { prefix + "cycle:" + name }
        /// ``calls(_:)`` for a cycle name already formatted as `YYYY-MM-DD`.
        public func calls(named name: String) -> String { prefix + "calls:" + name }
        /// Hash of the call fingerprints of one bucket of the cycle (96-bit field → total tokens;
        /// ``CallFingerprint``), `calls:<D>:<bucket as two hex digits>`.
        public func callBucket(named name: String, bucket: Int) -> String {
            prefix + "calls:" + name + ":" + CallFingerprint.suffix(bucket)
        }
        /// The bucket key that holds a call's fingerprint.
        public func callBucket(named name: String, fingerprint: CallFingerprint) -> String {
            prefix + "calls:" + name + ":" + fingerprint.bucketSuffix
        }
        /// Every bucket key of a cycle (``CallFingerprint/bucketCount``), in bucket order.
        public func callBuckets(_ cycle: CalendarDate) -> [String] {
            let name = cycle.description
            return (0..<CallFingerprint.bucketCount).map { callBucket(named: name, bucket: $0) }
        }
        /// Hash of calls applied after rollover closed the cycle, not yet in the history (call id →
        /// adjustment JSON). See `docs/operations.md`, late events.
        public func late(_ cycle: CalendarDate) -> String { late(named: cycle.description) }
        /// ``late(_:)`` for a cycle name already formatted as `YYYY-MM-DD`.
        public func late(named name: String) -> String { prefix + "late:" + name }
    }

    /// The keys of a user; the id must already be valid.
    ///
    /// - Throws: ``ValidationError`` when the user id is not valid.
    public func user(_ userID: String) throws(ValidationError) -> User {
        User(prefix: namespace + ":" + (try RedisKeyEscaping.userKeyTag(userID)) + ":")
    }

    /// Hash of namespace-wide settings: `default_limit`, `default_limit_usd_nano`, `default_policy`.
    public var config: String { namespace + ":{global}:config" }
    /// String holding the schema version of the data in this namespace.
    public var schema: String { namespace + ":{global}:schema" }
    /// Set of cycle names that have an index.
    public var indexedCycles: String { namespace + ":{global}:cycles" }
    /// Set of user ids with usage in a cycle. Derived; rebuildable.
    public func index(_ cycle: CalendarDate) -> String { namespace + ":{global}:index:" + cycle.description }

    /// The `SCAN MATCH` pattern for every user's counters of one cycle.
    public func cyclePattern(_ cycle: CalendarDate) -> String { namespace + ":{*}:cycle:" + cycle.description }

    /// The user id in a per-user key of this namespace, or `nil` when the key is not one.
    public func userID(fromKey key: String) -> String? {
        let head = namespace + ":{"
        guard key.hasPrefix(head), let close = key.firstIndex(of: "}") else { return nil }
        let tag = key[key.index(key.startIndex, offsetBy: head.count)..<close]
        return RedisKeyEscaping.unescape(String(tag))
    }
}

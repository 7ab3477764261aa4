import Foundation
import RedisClient

/// Settings of a ``TokenRepository`` that live in the process, not in Redis.
///
/// The default limit and default cycle policy live in Redis (`limit set --default`,
/// `cycle set --default`), so every process agrees on them; this process re-reads them at most
/// every ``settingsCacheTTL``.
public struct LedgerConfiguration: Sendable, Hashable {
    /// The key prefix. Default `tl`, or `TOKENLEDGER_NAMESPACE`.
    public var namespace: String
    /// Soft thresholds, in percent of the limit, that emit one event each per user and cycle. Default 80 and 100.
    public var thresholds: [Int]
    /// How long a reservation lives when the caller gives no TTL. Default 10 minutes.
    public var defaultLeaseTTL: Duration
    /// How long the default limit and policy read from Redis are reused. Default 1 second; zero reads every time.
    public var settingsCacheTTL: Duration
    /// Replica acknowledgement of every record and settle (`WAIT`, SPEC "Recording guarantees"):
    /// a write that fewer replicas acknowledge within the timeout is reported as not replicated
    /// (``LedgerError/Code/notReplicated``; a ``UsageRecorder`` with a spool also spools it, so a
    /// failover loses nothing). `nil` (default): no `WAIT`. `TOKENLEDGER_WAIT_REPLICAS`,
    /// `TOKENLEDGER_WAIT_TIMEOUT_MS`.
    public var replicaWait: RedisReplicaWait?
    /// The dedupe window, in days after a cycle ends: `rollover` keeps a closed cycle's call ids this
    /// long, then drops them (keeping its counters and history), and a later record or settle of the
    /// cycle is parked instead of counted (``ParkedWrite``). Default 7 (longer than the spool's replay
    /// horizon and client retries); 0 drops them at the first rollover after the close.
    /// `tokenledger.dedupeWindowDays`, `TOKENLEDGER_DEDUPE_WINDOW_DAYS`.
    public var dedupeWindowDays: Int

    /// Creates a configuration.
    ///
    /// - Throws: ``ValidationError`` for a bad namespace, a threshold outside 1…1000, a lease TTL outside
    ///   1 ms…7 days, a settings cache TTL outside 0…1 day, or a replica wait outside 1…100 replicas
    ///   or 1 ms…1 day, or a dedupe window outside 0…3650 days.
    public init(
        namespace: String = "tl",
        thresholds: [Int] = [80, 100],
        defaultLeaseTTL: Duration = .seconds(600),
        settingsCacheTTL: Duration = .seconds(1),
        replicaWait: RedisReplicaWait? = nil,
        dedupeWindowDays: Int = 7
    ) throws(ValidationError) {
        guard (0...3650).contains(dedupeWindowDays) else {
            throw ValidationError(
                code: .invalidLimit, field: "dedupe_window_days",
                message: "the dedupe window is \(dedupeWindowDays) days; use 0 to 3650")
        }
        try Validation.validateNamespace(namespace)
        for threshold in thresholds where !(1...1000).contains(threshold) {
            throw ValidationError(
                code: .invalidLimit, field: "thresholds",
                message: "threshold \(threshold) % is outside 1…1000 %")
        }
        _ = try Validation.leaseTTLMilliseconds(defaultLeaseTTL, field: "default_lease_ttl")
        try Validation.validateDuration(
            settingsCacheTTL, field: "settings_cache_ttl", maximum: Validation.maximumTimeout)
        self.namespace = namespace
        self.thresholds = thresholds.sorted()
        self.defaultLeaseTTL = defaultLeaseTTL
        self.settingsCacheTTL = settingsCacheTTL
        if let replicaWait { try Self.validate(replicaWait) }
        self.replicaWait = replicaWait
        self.dedupeWindowDays = dedupeWindowDays
    }
}

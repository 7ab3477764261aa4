import Foundation

/// What a rollover run should do.
public struct RolloverOptions: Sendable, Hashable {
    /// The instant to evaluate at: cycles that ended by then are closed. Default now.
    public var now: Date
    /// Read and report only; write nothing (no lock, no history, no deletions, no index entries).
    public var dryRun: Bool
    /// Months of cycle data to keep: a user's counters and call ids of a cycle that ended more than
    /// this many months before `now` (UTC dates) are deleted once the cycle's summary is in the
    /// history. 0 keeps everything. Default 13.
    public var retentionMonths: Int
    /// Keys per `SCAN`/`SSCAN` step and users per pipeline. Default 1000.
    public var batchSize: Int
    /// The dedupe window in days (``LedgerConfiguration/dedupeWindowDays``); `nil` (default): the
    /// repository's. A closed cycle's call ids are dropped once it ended more than this many days
    /// before `now` (UTC dates, a day of slack for time zones).
    public var dedupeWindowDays: Int?
    /// How long the run's lock lives unless extended (it is extended after every batch). Default 2 minutes.
    public var lockTTL: Duration

    /// Creates options.
    ///
    /// - Throws: ``ValidationError`` when `retentionMonths` is negative or above 1200, or `batchSize`
    ///   is outside 1…100,000, or `lockTTL` outside 1 s…1 day.
    public init(
        now: Date = Date(), dryRun: Bool = false, retentionMonths: Int = 13, batchSize: Int = 1000,
        lockTTL: Duration = .seconds(120), dedupeWindowDays: Int? = nil
    ) throws(ValidationError) {
        if let dedupeWindowDays, !(0...3650).contains(dedupeWindowDays) {
            throw ValidationError(
                code: .invalidLimit, field: "dedupe-window-days",
                message: "--dedupe-window-days is \(dedupeWindowDays); use 0 to 3650")
        }
        guard (0...1200).contains(retentionMonths) else {
            throw ValidationError(
                code: .invalidLimit, field: "retention-months",
                message: "--retention-months is \(retentionMonths); use 0 (keep everything) to 1200")
        }
        guard (1...100_000).contains(batchSize) else {
            throw ValidationError(
                code: .invalidLimit, field: "batch-size", message: "--batch-size is \(batchSize); use 1 to 100000")
        }
        try Validation.validateDuration(
            lockTTL, field: "lock_ttl", minimum: .seconds(1), maximum: Validation.maximumTimeout)
        self.now = now
        self.dryRun = dryRun
        self.retentionMonths = retentionMonths
        self.batchSize = batchSize
        self.lockTTL = lockTTL
        self.dedupeWindowDays = dedupeWindowDays
    }
}

/// What a rollover run did (or, with `dryRun`, would do).
///
/// JSON (sorted keys): `now`, `dry_run`, `locked`, `scanned_keys`, `index_added`, `closed`
/// (`[{"cycle","users","total_tokens"}]`), `retention_cutoff`, `deleted_user_cycles`,
/// `deleted_keys`, `dropped_cycles`, `kept_without_history`, `amended_calls`, `dedupe_window_days`,
/// `dropped_call_ids`, and for teams and orgs `closed_group_cycles`, `dropped_group_call_ids`,
/// `deleted_group_cycles`.
public struct RolloverResult: Sendable, Hashable, Codable {
    /// Users closed in one cycle by this run.
    public struct ClosedCycle: Sendable, Hashable, Codable {
        /// The cycle's start date.
        public var cycle: CalendarDate
        /// Users whose summary this run wrote.
        public var users: Int
        /// Their total tokens.
        public var totalTokens: Int

        /// Creates a value.
        public init(cycle: CalendarDate, users: Int, totalTokens: Int) {
            self.cycle = cycle
            self.users = users
            self.totalTokens = totalTokens
        }

        enum CodingKeys: String, CodingKey {
            case cycle, users
            case totalTokens = "total_tokens"
        }
    }

    /// The instant the run evaluated at (ISO 8601, UTC).
    public var now: String
    /// Whether this was a dry run.
    public var dryRun: Bool
    /// `true` when another run held the lock, so this one did nothing.
    public var locked = false
    /// Per-user cycle and call-id keys the scan found.
    public var scannedKeys = 0
    /// (user, cycle) entries added to the derived index (with `dryRun`: missing from it).
    public var indexAdded = 0
    /// Cycles in which users were closed, oldest first.
    public var closed: [ClosedCycle] = []
    /// Cycles that ended before this date are past retention (`nil`: retention is off).
    @ExplicitNull public var retentionCutoff: CalendarDate? = nil
    /// (user, cycle) pairs whose counters and call ids were deleted by retention.
    public var deletedUserCycles = 0
    /// Keys deleted by retention.
    public var deletedKeys = 0
    /// Cycles dropped from the derived index because all their data is past retention.
    public var droppedCycles: [CalendarDate] = []
    /// (user, cycle) pairs past retention that were kept because their summary is missing (or a
    /// late call is not in the history yet).
    public var keptWithoutHistory = 0
    /// Late calls (applied after their cycle was closed) added to the history by this run (with
    /// `dryRun`: waiting to be added). See `docs/operations.md`, late events.
    public var amendedCalls = 0
    /// The dedupe window applied, in days.
    public var dedupeWindowDays = 0
    /// User cycles whose call ids were dropped (their dedupe window passed).
    public var droppedCallIDs = 0
    /// Team and org cycles closed by this run (their summaries written to `scope-history:KIND:D`).
    public var closedGroupCycles = 0
    /// Team and org cycles whose call ids were dropped (their dedupe window passed).
    public var droppedGroupCallIDs = 0
    /// Team and org cycles whose counters and call ids were deleted by retention.
    public var deletedGroupCycles = 0

    /// Creates an empty result.
    public init(now: String, dryRun: Bool) {
        self.now = now
        self.dryRun = dryRun
    }

    enum CodingKeys: String, CodingKey {
        case now, locked, closed
        case dryRun = "dry_run"
        case scannedKeys = "scanned_keys"
        case indexAdded = "index_added"
        case retentionCutoff = "retention_cutoff"
        case deletedUserCycles = "deleted_user_cycles"
        case deletedKeys = "deleted_keys"
        case droppedCycles = "dropped_cycles"
        case keptWithoutHistory = "kept_without_history"
        case amendedCalls = "amended_calls"
        case dedupeWindowDays = "dedupe_window_days"
        case droppedCallIDs = "dropped_call_ids"
        case closedGroupCycles = "closed_group_cycles"
        case droppedGroupCallIDs = "dropped_group_call_ids"
        case deletedGroupCycles = "deleted_group_cycles"
    }
}

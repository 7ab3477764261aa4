/// Keys of the operations layer: cycle history, locks, rollover and migration bookkeeping.
///
/// All are namespace-wide (`{global}` tag). Their suffixes (`history:`, `history-totals:`, `history-adjustments:`,
/// `history-cycles`, `lock:`, `rollover`, `migrations`, `migration:`) are never a per-user suffix
/// (`profile`, `cycle:`, `calls:`, `leases`, `lease-expiry`, `events`), so a user named `global`
/// cannot collide with them. Layout in `docs/schema.md`.
extension LedgerKeys {
    /// Hash: user id → the user's immutable summary of cycle `cycle` (JSON). Written by rollover.
    public func history(_ cycle: CalendarDate) -> String { namespace + ":{global}:history:" + cycle.description }
    /// Hash: id → the summary of cycle `cycle` of each scope of a kind: ``history(_:)`` for users,
    /// `scope-history:KIND:D` for teams and orgs (their summaries, kept apart from the users' so a
    /// user named like a group cannot meet one, and out of the users' totals). Written by rollover.
    public func history(_ kind: LedgerScope.Kind, _ cycle: CalendarDate) -> String {
        if kind == .user { return history(cycle) }
        return namespace + ":{global}:scope-history:" + kind.rawValue + ":" + cycle.description
    }
    /// Hash: the sums over every summary in ``history(_:)`` (the cycle hash's field names).
    public func historyTotals(_ cycle: CalendarDate) -> String {
        namespace + ":{global}:history-totals:" + cycle.description
    }
    /// Hash: the audit entries of late calls that amended the cycle's history (`<len>:<user><call id>`
    /// → entry JSON: user, call id, model, counts, `at` in ms since 1970). Written by `history_adjust.lua`.
    public func historyAdjustments(_ cycle: CalendarDate) -> String {
        namespace + ":{global}:history-adjustments:" + cycle.description
    }
    /// Sorted set: cycle names that have history, scored by their day number (days since 1970).
    public var historyCycles: String { namespace + ":{global}:history-cycles" }
    /// ``historyTotals(_:)`` of a kind of scope (`scope-history-totals:KIND:D` for teams and orgs).
    public func historyTotals(_ kind: LedgerScope.Kind, _ cycle: CalendarDate) -> String {
        if kind == .user { return historyTotals(cycle) }
        return namespace + ":{global}:scope-history-totals:" + kind.rawValue + ":" + cycle.description
    }
    /// ``historyAdjustments(_:)`` of a kind of scope (`scope-history-adjustments:KIND:D` for teams and orgs).
    public func historyAdjustments(_ kind: LedgerScope.Kind, _ cycle: CalendarDate) -> String {
        if kind == .user { return historyAdjustments(cycle) }
        return namespace + ":{global}:scope-history-adjustments:" + kind.rawValue + ":" + cycle.description
    }
    /// ``historyCycles`` of a kind of scope (`scope-history-cycles:KIND` for teams and orgs).
    public func historyCycles(_ kind: LedgerScope.Kind) -> String {
        if kind == .user { return historyCycles }
        return namespace + ":{global}:scope-history-cycles:" + kind.rawValue
    }
    /// String: the lock of a namespace-wide job (`rollover`, `migrate`), held by a random token.
    public func lock(_ job: String) -> String { namespace + ":{global}:lock:" + job }
    /// Hash: what the last rollover run did.
    public var rolloverState: String { namespace + ":{global}:rollover" }
    /// Hash: migration version → JSON record of when it was applied and what it did.
    public var migrations: String { namespace + ":{global}:migrations" }
    /// Hash: the checkpoint of a migration in progress (SCAN cursor and counts).
    public func migrationState(_ version: Int) -> String { namespace + ":{global}:migration:" + String(version) }
    /// The `SCAN MATCH` pattern for every per-user key of this namespace (and the `{global}` keys).
    public var everyTaggedKeyPattern: String { namespace + ":{*}:*" }
}

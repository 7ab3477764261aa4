import RedisClient

/// A record or settle of a cycle whose call ids rollover already dropped (the cycle ended more than
/// the dedupe window ago, ``LedgerConfiguration/dedupeWindowDays``): the ledger can no longer tell this
/// call from a replay of one it counted, so nothing was written.
///
/// ``TokenRepository/record(user:callID:usage:model:provider:cycle:at:)`` and
/// ``TokenRepository/settle(user:callID:usage:model:provider:at:)`` throw it; a ``UsageRecorder``
/// with a spool parks the event (``ParkedEvents``, the `parked.jsonl` file of the spool directory)
/// and answers ``RecordOutcome/parked(_:)``, and a spool replay moves the event there. An
/// administrator applies (`tokenledger spool parked apply --yes`, knowing it may count twice) or drops
/// it. Category `ErrorCategory.badInput`: the CLI exits 65, the service answers 409 `event_parked`.
public struct ParkedWrite: Error, Sendable, Hashable, CustomStringConvertible, CategorizedError {
    /// The user id.
    public var user: String
    /// The call id.
    public var callID: String
    /// The cycle whose call ids were dropped.
    public var cycle: CalendarDate

    /// Creates the error.
    public init(user: String, callID: String, cycle: CalendarDate) {
        self.user = user
        self.callID = callID
        self.cycle = cycle
    }

    /// The stable snake_case code of this error, as the service's problem and logs spell it.
    public static let code = "event_parked"

    /// Bad input: an event older than the dedupe window.
    public var category: ErrorCategory { .badInput }

    /// A sentence naming the call id (at most 64 characters of it), the user and the cycle.
    public var message: String {
        "call id \(String(reflecting: String(callID.prefix(64)))) of user '\(user.prefix(64))' is for cycle \(cycle), "
            + "whose call ids were dropped after its dedupe window; it was not applied, so it cannot count twice "
            + "(with a spool it is parked: tokenledger spool parked list)"
    }

    /// The message.
    public var description: String { message }
}

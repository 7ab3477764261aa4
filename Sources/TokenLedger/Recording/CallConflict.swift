import RedisClient

/// A record or settle whose call id the user's cycle already holds with another total: a reused
/// call id, not a retry. Nothing was written (a settle also keeps its lease); it can never apply.
///
/// Decided where the duplicate is found: `record.lua` and `settle.lua` answer a duplicate with the
/// total its call id was first recorded with, and a duplicate whose total differs from the one sent
/// is this error instead of a duplicate. A duplicate with the same total (a retry) is not an error.
///
/// ``TokenRepository/record(user:callID:usage:model:provider:cycle:at:)`` and
/// ``TokenRepository/settle(user:callID:usage:model:provider:at:)`` throw it; a ``UsageRecorder``
/// answers ``RecordOutcome/conflict(_:)`` (and a spool replay drops the event, counted as the
/// `conflict` outcome). Category `ErrorCategory.badInput`: the CLI exits 65, the service answers
/// 409 `call_conflict`.
public struct CallConflict: Error, Sendable, Hashable, CustomStringConvertible, CategorizedError {
    /// The user id.
    public var user: String
    /// The call id that was reused.
    public var callID: String
    /// The cycle that holds the call id.
    public var cycle: CalendarDate
    /// The total tokens (input + output) the call id was first recorded with.
    public var recordedTotalTokens: Int
    /// The total tokens (input + output) this record or settle carried.
    public var totalTokens: Int

    /// Creates the error.
    public init(user: String, callID: String, cycle: CalendarDate, recordedTotalTokens: Int, totalTokens: Int) {
        self.user = user
        self.callID = callID
        self.cycle = cycle
        self.recordedTotalTokens = recordedTotalTokens
        self.totalTokens = totalTokens
    }

    /// The stable snake_case code of this error, as the service's problem and logs spell it.
    public static let code = "call_conflict"

    /// Bad input: the caller reused a call id.
    public var category: ErrorCategory { .badInput }

    /// A sentence naming the call id (at most 64 characters of it) and both totals.
    public var message: String {
        "call id \(String(reflecting: String(callID.prefix(64)))) of user '\(user.prefix(64))' was already recorded "
            + "with \(recordedTotalTokens) tokens in cycle \(cycle), not \(totalTokens); nothing changed (a retry "
            + "must send the same usage; a new call needs a new call id)"
    }

    /// The message.
    public var description: String { message }
}

/// What happened to one record or settle handed to a ``UsageRecorder``.
public enum RecordOutcome: Sendable {
    /// Recorded in Redis now.
    case applied(RecordResult)
    /// Redis already had this call id with the same total (a retry); nothing changed.
    case duplicate(RecordResult)
    /// Redis already had this call id with another total: a reused call id, not a retry. Nothing
    /// was written or spooled (a settle keeps its lease); it can never apply.
    case conflict(CallConflict)
    /// Redis could not take it in time; it is in the local spool (fsync'd) and will be replayed.
    case spooled
    /// Its cycle's call ids were dropped after the dedupe window, so it could not be deduplicated:
    /// nothing was written, and the event is in the spool directory's parked file (``ParkedEvents``)
    /// for an administrator to apply or drop.
    case parked(ParkedWrite)
    /// The input is bad (``ValidationError``) or can never apply; nothing was written or spooled.
    case rejected(any Error)
    /// Redis could not take it and there is no spool (or the spool refused it): the event is lost,
    /// and logged as such.
    case failed(any Error)

    /// Whether the event is safe: in Redis, or durably in the spool.
    public var isDurable: Bool {
        switch self {
        case .applied, .duplicate, .spooled, .parked: return true
        case .conflict, .rejected, .failed: return false
        }
    }
}

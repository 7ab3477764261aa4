/// The metadata keys of TokenLedger's log messages, in one place: all `tokenledger.…`, never a
/// user id's value as a key.
public enum LoggingKeys {
    /// `tokenledger.applied`: Events a spool replay applied.
    public static let applied = "tokenledger.applied"
    /// `tokenledger.call_id`: The call id of the event logged.
    public static let callID = "tokenledger.call_id"
    /// `tokenledger.callback`: The callback handler that failed.
    public static let callback = "tokenledger.callback"
    /// `tokenledger.cycle`: The billing cycle (its start date).
    public static let cycle = "tokenledger.cycle"
    /// `tokenledger.duplicates`: Events a spool replay found recorded already.
    public static let duplicates = "tokenledger.duplicates"
    /// `tokenledger.error`: The error, as its message.
    public static let error = "tokenledger.error"
    /// `tokenledger.handler`: The callback handler logging.
    public static let handler = "tokenledger.handler"
    /// `tokenledger.outcome`: What happened to a record.
    public static let outcome = "tokenledger.outcome"
    /// `tokenledger.model`: The model name of the event logged (an unpriced model).
    public static let model = "tokenledger.model"
    /// `tokenledger.reason`: Why something was refused or skipped.
    public static let reason = "tokenledger.reason"
    /// `tokenledger.redis.code`: The Redis server error code (`NOPERM`, …).
    public static let redisCode = "tokenledger.redis.code"
    /// `tokenledger.run_id`: The run id of a handler call.
    public static let runID = "tokenledger.run_id"
    /// `tokenledger.spool.bytes`: Bytes in the spool.
    public static let spoolBytes = "tokenledger.spool.bytes"
    /// `tokenledger.spool.directory`: The spool directory.
    public static let spoolDirectory = "tokenledger.spool.directory"
    /// `tokenledger.spool.maximum_bytes`: The spool size limit.
    public static let spoolMaximumBytes = "tokenledger.spool.maximum_bytes"
    /// `tokenledger.spool.segment`: A spool segment file.
    public static let spoolSegment = "tokenledger.spool.segment"
    /// `tokenledger.timeout`: The bound that passed.
    public static let timeout = "tokenledger.timeout"
}

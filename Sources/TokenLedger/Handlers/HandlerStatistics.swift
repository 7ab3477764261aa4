import Synchronization

/// Counters a handler keeps about its own work, for tests and diagnostics.
public struct HandlerStatistics: Sendable, Hashable {
    /// Calls whose usage was recorded (applied).
    public var recorded = 0
    /// Calls whose call id was already recorded (a retry or replay).
    public var duplicates = 0
    /// Calls whose usage went to the local spool (Redis was slow or down); replayed later.
    public var spooled = 0
    /// Calls handed over without waiting (``HandlerDelivery/fireAndForget``); their fate is in the
    /// recorder's metrics.
    public var queued = 0
    /// Calls recorded with estimated counts.
    public var estimated = 0
    /// Calls whose usage could not be recorded (see the log for why).
    public var failed = 0
    /// Calls that ended with an error (nothing recorded).
    public var errors = 0
    /// Calls started and not yet ended.
    public var inFlight = 0

    /// Empty counters.
    public init() {}
}

/// A mutex-guarded ``HandlerStatistics``.
final class StatisticsBox: Sendable {
    private let value = Mutex(HandlerStatistics())
    func update(_ body: (inout HandlerStatistics) -> Void) { value.withLock { body(&$0) } }
    var snapshot: HandlerStatistics { value.withLock { $0 } }
}

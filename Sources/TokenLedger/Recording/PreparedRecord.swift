import RedisClient

/// The cycle and script calls a deferred record was built for: set by the builder on the lane
/// thread, read by the completion on the same thread afterwards.
final class PreparedRecord: @unchecked Sendable {
    // @unchecked Sendable: written once by the builder and read by the completion, both on the same
    // pipeline lane thread, in that order.
    var cycle: CalendarDate?
    var calls: [RedisScriptCall] = []
}

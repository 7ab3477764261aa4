/// The write a deferred record was built as: set by the builder on the lane thread, read by the
/// completion on the same thread afterwards.
final class PreparedRecord: @unchecked Sendable {
    // @unchecked Sendable: written once by the builder and read by the completion, both on the same
    // pipeline lane thread, in that order.
    var write: PreparedWrite?
}

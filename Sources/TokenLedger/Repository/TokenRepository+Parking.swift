import Foundation

// TokenRepository: applying a parked event (its cycle's call ids were dropped after the dedupe window).
extension TokenRepository {
    /// Applies a parked event anyway: counted in its cycle even though the cycle's call ids were
    /// dropped, so if the call was counted before the drop it is now counted twice. For an
    /// administrator who checked (`tokenledger spool parked apply --yes`). A closed cycle's history
    /// is amended as for any late call. It charges no rate window (it happened long ago).
    ///
    /// - Returns: What was written (`applied`, or a duplicate when the call id was recorded again
    ///   since the drop).
    /// - Throws: ``ValidationError``, ``CallConflict``, ``LedgerError`` (``LedgerError/Code/cycleRetired``
    ///   when retention deleted the cycle meanwhile), `RedisError`.
    public func applyParked(_ event: SpooledEvent) async throws -> RecordResult {
        if let namespace = event.namespace, namespace != keys.namespace {
            throw LedgerError(
                code: .namespaceMismatch,
                message: "the parked event belongs to namespace '\(namespace)', not '\(keys.namespace)'")
        }
        return try await write(
            event.operation.writeKind, user: event.user, callID: event.callID, usage: event.usage, model: event.model,
            provider: event.provider, cycle: event.operation == .settle ? nil : event.cycle, at: event.at,
            cost: event.cost, force: true, chargesRate: false)
    }
}

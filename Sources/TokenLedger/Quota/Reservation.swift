/// The result of ``TokenRepository/reserve(user:callID:tokens:cost:ttl:at:)``.
public struct Reservation: Sendable, Hashable {
    /// What happened.
    public var status: ReservationStatus
    /// The quota picture (``QuotaDecision/allowed`` is false only when denied).
    public var decision: QuotaDecision
}

/// What happened to a reservation request.
public enum ReservationStatus: String, Sendable, Hashable, Codable {
    /// A new lease was taken.
    case admitted
    /// This call id already holds a live lease; nothing changed (idempotent retry).
    case held
    /// This call id's usage was already recorded; no lease was taken.
    case settled
    /// The limit does not allow it; nothing changed.
    case denied
}

import Foundation

/// The running cycle of a user's previous cycle policy: its usage still counts against the user's
/// limit until it ends, so changing the policy (another anchor, period or zone) never starts a
/// fresh quota. Kept with the policy in the profile's `policy` field (see ``StoredPolicy``).
struct PolicyCarry: Sendable, Hashable, Codable {
    /// The previous policy's cycle (its counters hash keeps the usage).
    var cycle: CalendarDate
    /// When that cycle ends (ISO 8601, UTC): from then on it no longer counts.
    var until: String

    /// ``until`` as an instant (`nil` when unreadable: then the carry no longer counts).
    var untilInstant: Date? { try? ISO8601Instant.parse(until) }
}

/// What a user's profile `policy` field holds: the user's own policy (`nil`: the default) and the
/// cycles of previous policies that still count against the limit.
///
/// JSON (sorted keys): the policy's fields (`period`, `anchor`, `timezone`) when the user has one,
/// and `carry` (`[{"cycle","until"}]`) while a carry runs; `""` when neither. The scripts compare the
/// whole text (the policy the caller assumed), so a caller always knows the carries too.
struct StoredPolicy: Sendable, Hashable {
    var policy: BillingCyclePolicy?
    var carries: [PolicyCarry] = []

    private struct Carries: Codable {
        var carry: [PolicyCarry]?
    }

    /// Decodes the stored text (`""`: no policy of the user's own, no carry).
    static func decode(_ text: String, user: String) throws -> StoredPolicy {
        if text.isEmpty { return StoredPolicy(policy: nil) }
        let data = Data(text.utf8)
        do {
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            let policy = object?["period"] != nil ? try JSONDecoder().decode(BillingCyclePolicy.self, from: data) : nil
            let carries = try JSONDecoder().decode(Carries.self, from: data).carry ?? []
            return StoredPolicy(policy: policy, carries: carries)
        } catch {
            throw LedgerError(
                code: .corruptData, message: "the stored cycle policy of user '\(user)' is not valid: \(text)")
        }
    }

    /// The text to store.
    func encoded() throws -> String {
        var object: [String: Any] = [:]
        if let policy {
            let data = try JSONEncoder().encode(policy)
            object = (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
        }
        if !carries.isEmpty {
            object["carry"] = carries.map { ["cycle": $0.cycle.description, "until": $0.until] }
        }
        if object.isEmpty { return "" }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// The carried cycles that still count at `instant` against a limit checked in `target`.
    func activeCarries(at instant: Date, target: CalendarDate) -> [CalendarDate] {
        carries.filter { carry in carry.cycle != target && (carry.untilInstant.map { instant < $0 } ?? false) }
            .map(\.cycle)
    }
}

import Foundation

/// One record or settle that could not reach Redis, kept in the spool until it is replayed.
///
/// Replays are idempotent: the event keeps its call id and the instant of the call (which picks the
/// cycle), so an event that reached Redis after all is a duplicate when replayed.
public struct SpooledEvent: Sendable, Hashable, Codable {
    /// What to do with the usage.
    public enum Operation: String, Sendable, Hashable, Codable {
        /// ``TokenRepository/record(user:callID:usage:model:provider:cycle:at:)``.
        case record
        /// ``TokenRepository/settle(user:callID:usage:model:provider:at:)``.
        case settle
    }

    /// Record or settle.
    public var operation: Operation
    /// The user id.
    public var user: String
    /// The call id (the idempotency key).
    public var callID: String
    /// The usage.
    public var usage: UsageRecord
    /// The model name.
    public var model: String
    /// The provider name.
    public var provider: String
    /// An explicit cycle, when the caller gave one.
    public var cycle: CalendarDate?
    /// When the call happened; picks the cycle on replay.
    public var at: Date
    /// The key namespace the event belongs to; a replay into another namespace refuses it.
    public var namespace: String?
    /// The event's cost as it was priced when the event was first built, so a replay costs what it
    /// cost then, even after a `price set`. `nil`: not priced yet (a line spooled before events
    /// carried their cost), priced at replay. JSON `cost_usd`: the nine-decimal string, `null` when
    /// unpriced, absent when not priced yet.
    public var cost: EventCost?

    /// Creates an event.
    public init(
        operation: Operation, user: String, callID: String, usage: UsageRecord, model: String = "",
        provider: String = "", cycle: CalendarDate? = nil, at: Date, namespace: String? = nil, cost: EventCost? = nil
    ) {
        self.operation = operation
        self.user = user
        self.callID = callID
        self.usage = usage
        self.model = model
        self.provider = provider
        self.cycle = cycle
        self.at = at
        self.namespace = namespace
        self.cost = cost
    }

    enum CodingKeys: String, CodingKey {
        case operation = "op"
        case user
        case callID = "call_id"
        case usage, model, provider, cycle, at, namespace
        case cost = "cost_usd"
    }

    /// Decodes an event; a line without `cost_usd` (spooled before events carried their cost) is
    /// not priced yet (``cost`` `nil`).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        operation = try c.decode(Operation.self, forKey: .operation)
        user = try c.decode(String.self, forKey: .user)
        callID = try c.decode(String.self, forKey: .callID)
        usage = try c.decode(UsageRecord.self, forKey: .usage)
        model = try c.decode(String.self, forKey: .model)
        provider = try c.decode(String.self, forKey: .provider)
        cycle = try c.decodeIfPresent(CalendarDate.self, forKey: .cycle)
        at = try c.decode(Date.self, forKey: .at)
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
        if c.contains(.cost) {
            cost = try c.decodeIfPresent(Cost.self, forKey: .cost).map { .priced($0) } ?? .unpriced
        }
    }

    /// Encodes every field (`cycle` and `namespace` only when set, `cost_usd` only when priced or unpriced).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(operation, forKey: .operation)
        try c.encode(user, forKey: .user)
        try c.encode(callID, forKey: .callID)
        try c.encode(usage, forKey: .usage)
        try c.encode(model, forKey: .model)
        try c.encode(provider, forKey: .provider)
        try c.encodeIfPresent(cycle, forKey: .cycle)
        try c.encode(at, forKey: .at)
        try c.encodeIfPresent(namespace, forKey: .namespace)
        if let cost { try c.encode(cost.cost, forKey: .cost) }
    }

    /// The event as one JSON line (sorted keys, instant in milliseconds), newline included.
    func line() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return Array(try encoder.encode(self)) + [0x0A]
    }

    /// Decodes one JSON line. A line that is not valid UTF-8 is refused: decoding it would replace
    /// the bad bytes with U+FFFD and could merge two user ids into one.
    static func decode(line: some Collection<UInt8>) throws -> SpooledEvent {
        _ = try Validation.decodeUTF8(line, field: "spool line")
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return try decoder.decode(SpooledEvent.self, from: Data(line))
    }

    /// A decoding failure in words, for the rejected file's log line.
    static func describe(_ error: any Error) -> String {
        if let error = error as? ValidationError { return error.message }
        if let error = error as? DecodingError {
            switch error {
            case .dataCorrupted(let context), .keyNotFound(_, let context), .typeMismatch(_, let context),
                .valueNotFound(_, let context):
                let path = context.codingPath.map(\.stringValue).joined(separator: ".")
                return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
            @unknown default:
                return "\(error)"
            }
        }
        return "\(error)"
    }
}

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

    /// Creates an event.
    public init(
        operation: Operation, user: String, callID: String, usage: UsageRecord, model: String = "",
        provider: String = "", cycle: CalendarDate? = nil, at: Date, namespace: String? = nil
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
    }

    enum CodingKeys: String, CodingKey {
        case operation = "op"
        case user
        case callID = "call_id"
        case usage, model, provider, cycle, at, namespace
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

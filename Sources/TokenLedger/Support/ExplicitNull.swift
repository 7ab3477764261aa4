/// An optional stored property that JSON shows as `null` when it is `nil`, instead of leaving its
/// key out (what synthesized `Codable` does with optionals).
///
/// The JSON outputs list every field, unset ones as `null` (SPEC), so a result type whose
/// hand-written `encode(to:)` only existed for that marks those properties instead and keeps
/// synthesized `Codable`: `@ExplicitNull public var retentionCutoff: CalendarDate? = nil`.
/// Decoding takes a missing key or `null` as `nil`.
@propertyWrapper
public struct ExplicitNull<Value: Codable>: Codable {
    /// The value; `nil` is encoded as `null`.
    public var wrappedValue: Value?

    /// Wraps a value.
    public init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    /// Decodes the value, `null` as `nil`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }

    /// Encodes the value, `nil` as `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue {
            try container.encode(wrappedValue)
        } else {
            try container.encodeNil()
        }
    }
}

extension ExplicitNull: Sendable where Value: Sendable {}
extension ExplicitNull: Equatable where Value: Equatable {}
extension ExplicitNull: Hashable where Value: Hashable {}

extension KeyedDecodingContainer {
    /// Decodes an ``ExplicitNull`` property; a missing key is `nil`, as for a plain optional.
    public func decode<Value>(_ type: ExplicitNull<Value>.Type, forKey key: Key) throws -> ExplicitNull<Value> {
        try decodeIfPresent(type, forKey: key) ?? ExplicitNull(wrappedValue: nil)
    }
}

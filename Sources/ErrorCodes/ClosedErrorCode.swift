/// The code of an error type: a closed set of stable snake_case names.
///
/// A conforming `Code` struct keeps only its list: a stored `rawValue`, a private initializer (so
/// nobody outside can make a code), one static let per code and ``allCases`` naming them all.
/// Everything else comes from here: ``init(rawValue:)`` accepts only the listed names, the
/// description is the name, and JSON holds the name as a plain string.
///
/// ```swift
/// public struct Code: ClosedErrorCode {
///     public let rawValue: String
///     private init(_ rawValue: String) { self.rawValue = rawValue }
///     public static let allCases: [Code] = [.busy]
///     public static let busy = Code("busy")
/// }
/// ```
///
/// Compare codes with the static lets (`error.code == .busy`); switch with a `default` branch,
/// since new codes may be added.
public protocol ClosedErrorCode: RawRepresentable, CaseIterable, Hashable, Sendable, CustomStringConvertible, Codable
where RawValue == String, AllCases == [Self] {
    /// The code's stable snake_case name, the one logs, metrics and JSON output show.
    var rawValue: String { get }
    /// Every code of the type, for tables and tests.
    static var allCases: [Self] { get }
}

extension ClosedErrorCode {
    /// The listed code with this name, or `nil` when the type has no such code.
    public init?(rawValue: String) {
        guard let code = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = code
    }

    /// The code's stable snake_case name (``rawValue``).
    public var name: String { rawValue }

    /// The code's name.
    public var description: String { rawValue }

    /// Decodes a code from its name; a name the type does not list is refused.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let code = Self(rawValue: name) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "unknown error code '\(name)'")
        }
        self = code
    }

    /// Encodes the code as its name, a plain string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

import Foundation

/// A parsed JSON value, as handed to ``UsageExtractor``.
///
/// Numbers are kept as `Double`: every valid token count (0…10^12) is exact in a `Double`, and
/// keeping the fraction lets the extractor reject `12.5` instead of silently truncating it.
public enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// Any JSON number.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object. Duplicate keys in the source text keep the last value.
    case object([String: JSONValue])

    /// Parses one JSON document (RFC 8259; UTF-8, an optional byte-order mark, at most 512 levels deep).
    ///
    /// - Parameter data: The JSON text.
    /// - Throws: ``ExtractionError`` with code ``ExtractionError/Code/malformedJSON``, naming the
    ///   path being parsed and the line and column of the fault.
    public init(parsing data: Data) throws(ExtractionError) {
        self = try JSONParser.parseDocument(Array(data))
    }

    /// Converts a Foundation JSON object (what `JSONSerialization.jsonObject(with:)` returns, or
    /// Swift dictionaries, arrays, strings, numbers, `Bool` and `NSNull`) into a ``JSONValue``.
    ///
    /// - Parameter jsonObject: The object to convert.
    /// - Throws: ``ExtractionError`` with code ``ExtractionError/Code/invalidValue`` naming the
    ///   path of a value of an unsupported type, or of nesting deeper than 512 levels.
    public init(jsonObject: Any) throws(ExtractionError) {
        var path = JSONPath.root
        self = try Self.convert(jsonObject, path: &path, depth: 0)
    }

    private static let booleanClass = ObjectIdentifier(type(of: NSNumber(value: true)))

    private static func convert(_ object: Any, path: inout JSONPath, depth: Int) throws(ExtractionError) -> JSONValue {
        guard depth < JSONParser.maxDepth else {
            throw ExtractionError(.invalidValue, at: path, "nesting deeper than \(JSONParser.maxDepth) levels")
        }
        if object is NSNull { return .null }
        if let value = object as? JSONValue { return value }
        if type(of: object) == Bool.self, let flag = object as? Bool { return .bool(flag) }
        if let number = object as? NSNumber {
            if ObjectIdentifier(type(of: number)) == booleanClass { return .bool(number.boolValue) }
            return .number(number.doubleValue)
        }
        if let string = object as? String { return .string(string) }
        if let array = object as? [Any] {
            var out: [JSONValue] = []
            out.reserveCapacity(array.count)
            for (i, element) in array.enumerated() {
                path.push(.index(i))
                out.append(try convert(element, path: &path, depth: depth + 1))
                path.pop()
            }
            return .array(out)
        }
        if let dictionary = object as? [String: Any] {
            var out: [String: JSONValue] = [:]
            out.reserveCapacity(dictionary.count)
            for (key, element) in dictionary {
                path.push(.key(key))
                out[key] = try convert(element, path: &path, depth: depth + 1)
                path.pop()
            }
            return .object(out)
        }
        if let optional = object as? OptionalProtocol {
            guard let wrapped = optional.wrappedAny else { return .null }
            return try convert(wrapped, path: &path, depth: depth + 1)
        }
        throw ExtractionError(.invalidValue, at: path, "a value of type \(type(of: object)) is not JSON")
    }

    /// The dictionary when this is an object.
    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The elements when this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The string when this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number when this is a number.
    public var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The flag when this is a boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// Whether this is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The member `key` when this is an object and has it.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    /// A short name of the value's kind for messages: "a string", "an object", …
    var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number(let d): "the number \(Self.render(d))"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    static func render(_ number: Double) -> String {
        if number.isFinite, number == number.rounded(), abs(number) < 1e18 {
            return String(Int64(number))
        }
        return "\(number)"
    }
}

/// Lets ``JSONValue/init(jsonObject:)`` see through `Optional` values stored in `Any`.
private protocol OptionalProtocol {
    var wrappedAny: Any? { get }
}

extension Optional: OptionalProtocol {
    fileprivate var wrappedAny: Any? {
        switch self {
        case .some(let value): value
        case .none: nil
        }
    }
}

extension JSONValue: Codable {
    /// Decodes any JSON value.
    ///
    /// - Parameter decoder: The decoder to read from.
    /// - Throws: `DecodingError.dataCorrupted` when the value is none of the JSON kinds.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else if let object = try? container.decode([String: JSONValue].self) {
            self = .object(object)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    /// Encodes the value; whole numbers up to 2^53 are written without a fraction.
    ///
    /// - Parameter encoder: The encoder to write to.
    /// - Throws: `EncodingError.invalidValue` for a non-finite number.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let flag): try container.encode(flag)
        case .number(let number):
            if number.isFinite, number == number.rounded(), abs(number) <= 9_007_199_254_740_992 {
                try container.encode(Int64(number))
            } else {
                try container.encode(number)
            }
        case .string(let string): try container.encode(string)
        case .array(let array): try container.encode(array)
        case .object(let object): try container.encode(object)
        }
    }
}

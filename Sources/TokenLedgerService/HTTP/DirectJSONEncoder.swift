import Foundation

/// Writes an `Encodable` value as the CLI's JSON (sorted keys, slashes unescaped, the bytes
/// `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` writes) without Foundation's
/// encoder, which boxed every value of every response (~5 % of the service's time per recorded
/// call).
///
/// Generic: any `Codable` shape of the library (a new field of `RecordResult` included) is written
/// without edits here. It covers what the responses hold: objects, arrays, strings, integers,
/// booleans and null. A value it does not write the way `JSONEncoder` does (a floating-point number,
/// `Date`, `Data`, `URL`, `Decimal`, a value that encodes nothing) makes ``encode(_:)`` return
/// `nil`, and the caller uses `JSONEncoder`.
enum DirectJSONEncoder {
    /// `value`'s JSON bytes, or `nil` when it holds something only `JSONEncoder` writes (see above).
    static func encode(_ value: some Encodable) -> [UInt8]? {
        let root = Slot()
        do {
            try root.store(value)
        } catch {
            return nil
        }
        var output: [UInt8] = []
        output.reserveCapacity(256)
        guard root.node.write(into: &output) else { return nil }
        return output
    }

    /// A value this encoder does not write; the caller falls back to `JSONEncoder`.
    struct Unsupported: Error {}

    /// One encoded value (built first, written once complete: keys are sorted only then).
    enum Node {
        case empty
        case null
        case bool(Bool)
        case signed(Int64)
        case unsigned(UInt64)
        case string(String)
        case object(ObjectStorage)
        case array(ArrayStorage)
        /// A value encoded through an `Encoder` of its own (nested `Encodable`s).
        case slot(Slot)

        /// Appends the JSON of this value; `false` when something encoded nothing.
        func write(into output: inout [UInt8]) -> Bool {
            switch self {
            case .empty: return false
            case .null: output.append(contentsOf: "null".utf8)
            case .bool(let value): output.append(contentsOf: value ? "true".utf8 : "false".utf8)
            case .signed(let value): Self.writeInteger(value, into: &output)
            case .unsigned(let value): Self.writeInteger(value, into: &output)
            case .string(let value): Self.writeString(value, into: &output)
            case .slot(let slot): return slot.node.write(into: &output)
            case .array(let storage):
                output.append(UInt8(ascii: "["))
                for (index, element) in storage.elements.enumerated() {
                    if index > 0 { output.append(UInt8(ascii: ",")) }
                    guard element.write(into: &output) else { return false }
                }
                output.append(UInt8(ascii: "]"))
            case .object(let storage):
                output.append(UInt8(ascii: "{"))
                guard let members = storage.sorted() else { return false }
                for (index, member) in members.enumerated() {
                    if index > 0 { output.append(UInt8(ascii: ",")) }
                    Self.writeString(member.key, into: &output)
                    output.append(UInt8(ascii: ":"))
                    guard member.value.write(into: &output) else { return false }
                }
                output.append(UInt8(ascii: "}"))
            }
            return true
        }

        static func writeInteger(_ value: some BinaryInteger, into output: inout [UInt8]) {
            output.append(contentsOf: String(value).utf8)
        }

        static let hexDigits = Array("0123456789abcdef".utf8)

        /// A JSON string as `JSONEncoder` writes it: `"` and `\` escaped, the control characters
        /// as `\b \t \n \f \r` or `\u00XX`, everything else (slashes and non-ASCII) as it is.
        static func writeString(_ value: String, into output: inout [UInt8]) {
            output.append(UInt8(ascii: "\""))
            var value = value
            value.withUTF8 { bytes in
                var start = 0
                for index in 0..<bytes.count {
                    let byte = bytes[index]
                    guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                    start = index + 1
                    switch byte {
                    case UInt8(ascii: "\""): output.append(contentsOf: #"\""#.utf8)
                    case UInt8(ascii: "\\"): output.append(contentsOf: #"\\"#.utf8)
                    case 0x08: output.append(contentsOf: #"\b"#.utf8)
                    case 0x09: output.append(contentsOf: #"\t"#.utf8)
                    case 0x0A: output.append(contentsOf: #"\n"#.utf8)
                    case 0x0C: output.append(contentsOf: #"\f"#.utf8)
                    case 0x0D: output.append(contentsOf: #"\r"#.utf8)
                    default:
                        output.append(contentsOf: #"\u00"#.utf8)
                        output.append(hexDigits[Int(byte >> 4)])
                        output.append(hexDigits[Int(byte & 0x0F)])
                    }
                }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
            }
            output.append(UInt8(ascii: "\""))
        }
    }

    /// An object's members in the order encoded.
    final class ObjectStorage {
        var members: [(key: String, value: Node)] = []

        /// The members sorted by key (UTF-8 bytes, as `JSONEncoder`'s `sortedKeys`); `nil` when a
        /// key was encoded twice (`JSONEncoder` keeps the last one; left to it).
        func sorted() -> [(key: String, value: Node)]? {
            var sorted = members
            sorted.sort { Self.precedes($0.key, $1.key) }
            for index in sorted.indices.dropFirst() where sorted[index].key == sorted[index - 1].key {
                return nil
            }
            return sorted
        }

        /// Whether `a`'s UTF-8 bytes sort before `b`'s.
        static func precedes(_ a: String, _ b: String) -> Bool {
            var (a, b) = (a, b)
            return a.withUTF8 { left in
                b.withUTF8 { right in
                    let common = min(left.count, right.count)
                    if common > 0, let l = left.baseAddress, let r = right.baseAddress {
                        let order = memcmp(l, r, common)
                        if order != 0 { return order < 0 }
                    }
                    return left.count < right.count
                }
            }
        }
    }

    /// An array's elements.
    final class ArrayStorage {
        var elements: [Node] = []
    }

    /// Where one value is encoded.
    final class Slot {
        var node: Node = .empty

        /// Encodes `value` here, refusing the types `JSONEncoder` writes in a way of its own.
        func store(_ value: some Encodable) throws {
            try Self.checkSupported(type(of: value))
            try value.encode(to: SlotEncoder(slot: self))
        }

        static func checkSupported(_ type: Any.Type) throws {
            if type == Date.self || type == Data.self || type == URL.self || type == Decimal.self {
                throw Unsupported()
            }
        }

        /// The node of a nested `Encodable`: scalars kept inline, anything else its slot.
        static func node(of value: some Encodable) throws -> Node {
            let slot = Slot()
            try slot.store(value)
            return slot.node
        }

        func object() -> ObjectStorage {
            if case .object(let storage) = node { return storage }
            let storage = ObjectStorage()
            node = .object(storage)
            return storage
        }

        func array() -> ArrayStorage {
            if case .array(let storage) = node { return storage }
            let storage = ArrayStorage()
            node = .array(storage)
            return storage
        }
    }

    struct SlotEncoder: Encoder {
        let slot: Slot
        var codingPath: [any CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            KeyedEncodingContainer(KeyedWriter<Key>(storage: slot.object()))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            UnkeyedWriter(storage: slot.array())
        }

        func singleValueContainer() -> any SingleValueEncodingContainer {
            SingleValueWriter(slot: slot)
        }
    }

    struct KeyedWriter<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let storage: ObjectStorage
        var codingPath: [any CodingKey] { [] }

        func set(_ node: Node, _ key: Key) { storage.members.append((key.stringValue, node)) }

        mutating func encodeNil(forKey key: Key) throws { set(.null, key) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
        mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
        mutating func encode(_ value: Double, forKey key: Key) throws { throw Unsupported() }
        mutating func encode(_ value: Float, forKey key: Key) throws { throw Unsupported() }
        mutating func encode(_ value: Int, forKey key: Key) throws { set(.signed(Int64(value)), key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { set(.signed(Int64(value)), key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { set(.signed(Int64(value)), key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { set(.signed(Int64(value)), key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { set(.signed(value), key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { set(.unsigned(UInt64(value)), key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { set(.unsigned(UInt64(value)), key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { set(.unsigned(UInt64(value)), key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { set(.unsigned(UInt64(value)), key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { set(.unsigned(value), key) }
        mutating func encode(_ value: some Encodable, forKey key: Key) throws {
            set(try Slot.node(of: value), key)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type, forKey key: Key
        ) -> KeyedEncodingContainer<NestedKey> {
            let nested = Slot()
            set(.slot(nested), key)
            return KeyedEncodingContainer(KeyedWriter<NestedKey>(storage: nested.object()))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let nested = Slot()
            set(.slot(nested), key)
            return UnkeyedWriter(storage: nested.array())
        }

        mutating func superEncoder() -> any Encoder {
            let nested = Slot()
            storage.members.append(("super", .slot(nested)))
            return SlotEncoder(slot: nested)
        }

        mutating func superEncoder(forKey key: Key) -> any Encoder {
            let nested = Slot()
            set(.slot(nested), key)
            return SlotEncoder(slot: nested)
        }
    }

    struct UnkeyedWriter: UnkeyedEncodingContainer {
        let storage: ArrayStorage
        var codingPath: [any CodingKey] { [] }
        var count: Int { storage.elements.count }

        func append(_ node: Node) { storage.elements.append(node) }

        mutating func encodeNil() throws { append(.null) }
        mutating func encode(_ value: Bool) throws { append(.bool(value)) }
        mutating func encode(_ value: String) throws { append(.string(value)) }
        mutating func encode(_ value: Double) throws { throw Unsupported() }
        mutating func encode(_ value: Float) throws { throw Unsupported() }
        mutating func encode(_ value: Int) throws { append(.signed(Int64(value))) }
        mutating func encode(_ value: Int8) throws { append(.signed(Int64(value))) }
        mutating func encode(_ value: Int16) throws { append(.signed(Int64(value))) }
        mutating func encode(_ value: Int32) throws { append(.signed(Int64(value))) }
        mutating func encode(_ value: Int64) throws { append(.signed(value)) }
        mutating func encode(_ value: UInt) throws { append(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt8) throws { append(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt16) throws { append(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt32) throws { append(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt64) throws { append(.unsigned(value)) }
        mutating func encode(_ value: some Encodable) throws { append(try Slot.node(of: value)) }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type
        ) -> KeyedEncodingContainer<NestedKey> {
            let nested = Slot()
            append(.slot(nested))
            return KeyedEncodingContainer(KeyedWriter<NestedKey>(storage: nested.object()))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let nested = Slot()
            append(.slot(nested))
            return UnkeyedWriter(storage: nested.array())
        }

        mutating func superEncoder() -> any Encoder {
            let nested = Slot()
            append(.slot(nested))
            return SlotEncoder(slot: nested)
        }
    }

    struct SingleValueWriter: SingleValueEncodingContainer {
        let slot: Slot
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil() throws { slot.node = .null }
        mutating func encode(_ value: Bool) throws { slot.node = .bool(value) }
        mutating func encode(_ value: String) throws { slot.node = .string(value) }
        mutating func encode(_ value: Double) throws { throw Unsupported() }
        mutating func encode(_ value: Float) throws { throw Unsupported() }
        mutating func encode(_ value: Int) throws { slot.node = .signed(Int64(value)) }
        mutating func encode(_ value: Int8) throws { slot.node = .signed(Int64(value)) }
        mutating func encode(_ value: Int16) throws { slot.node = .signed(Int64(value)) }
        mutating func encode(_ value: Int32) throws { slot.node = .signed(Int64(value)) }
        mutating func encode(_ value: Int64) throws { slot.node = .signed(value) }
        mutating func encode(_ value: UInt) throws { slot.node = .unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt8) throws { slot.node = .unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt16) throws { slot.node = .unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt32) throws { slot.node = .unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt64) throws { slot.node = .unsigned(value) }
        mutating func encode(_ value: some Encodable) throws { slot.node = try Slot.node(of: value) }
    }
}

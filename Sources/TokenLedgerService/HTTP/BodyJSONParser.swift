/// A strict RFC 8259 parser over a request body's bytes, producing ``BodyValue``s: what replaced
/// Foundation's `JSONDecoder` on the request path (a fifth of the service's time went to it).
///
/// - Integers are exact: a number without fraction or exponent that fits in `Int` is
///   ``BodyValue/integer(_:)``, computed digit by digit (never through `Double`). Any other number
///   (`1.0`, `1e2`, `2.5`, or an integer past 64 bits) is ``BodyValue/number(_:)``, which every
///   count accessor refuses; a number beyond `Double`'s range is malformed JSON.
/// - Strings: every JSON escape, `\u` escapes as UTF-16 with surrogate pairs combined; a lone
///   surrogate, an unknown escape or a raw control character is malformed.
/// - Objects: a member name given twice is refused (not "first wins" or "last wins": two parsers
///   that disagree on which one counts must not both accept the body).
/// - Nesting is capped at ``maximumDepth`` levels (the limit `JSONDecoder` had), checked before
///   going deeper, so no input exhausts the stack.
/// - One leading UTF-8 byte-order mark is skipped; whitespace is space, tab, LF and CR; nothing but
///   whitespace may follow the value (no trailing commas, comments, `NaN` or a second value).
///
/// The bytes must be valid UTF-8 (``JSONBody`` checks that first, to name the field of a bad byte):
/// string contents are taken as they are.
struct BodyJSONParser {
    /// The deepest nesting accepted (arrays and objects): 512, as `JSONDecoder` had.
    static let maximumDepth = 512

    /// Why a body was refused, and where.
    struct Failure: Error, Sendable, Hashable {
        /// What was wrong, e.g. `unexpected '}', expected a value`. Never quotes more than a byte
        /// or a member name (cut at 64 bytes).
        var reason: String
        /// The byte offset of the fault in the body.
        var offset: Int
        /// The top-level member the fault is in (or the top-level member given twice); `nil` outside any.
        var member: String?
        /// Whether the fault is a member name given twice.
        var isDuplicate = false
    }

    /// The parsed value, and the byte range of the top-level member's value asked for (its raw text).
    struct Parsed: Sendable {
        var value: BodyValue
        var rawRange: Range<Int>?
    }

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0
    /// The top-level member whose value is being read.
    private var member: String?
    private let rawMember: String?
    private var rawRange: Range<Int>?
    /// Unescaped string bytes, reused across strings.
    private var scratch: [UInt8] = []

    private init(bytes: [UInt8], rawMember: String?) {
        self.bytes = bytes
        self.rawMember = rawMember
    }

    /// Parses a whole body.
    ///
    /// - Parameters:
    ///   - bytes: The body: valid UTF-8.
    ///   - rawMember: A top-level member whose value's byte range to return as well (the `response`
    ///     handed to the extractor as it was sent).
    /// - Throws: ``Failure`` for anything that is not one JSON value followed by whitespace.
    static func parse(_ bytes: [UInt8], keepingRawTextOf rawMember: String? = nil) throws(Failure) -> Parsed {
        var parser = BodyJSONParser(bytes: bytes, rawMember: rawMember)
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { parser.index = 3 }
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.index < bytes.count { throw parser.failure("unexpected text after the JSON value") }
        return Parsed(value: value, rawRange: parser.rawRange)
    }

    // MARK: - Values

    private mutating func parseValue() throws(Failure) -> BodyValue {
        guard index < bytes.count else { throw failure("unexpected end of input, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expect("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expect("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expect("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected \(describe(index)), expected a value")
        }
    }

    /// Steps past an opening bracket, one level deeper (refused past ``maximumDepth``).
    private mutating func enter() throws(Failure) {
        guard depth < Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth) levels") }
        depth += 1
        index += 1
        skipWhitespace()
    }

    /// After a member or element: `true` at the closing bracket (stepped past), `false` after a comma.
    private mutating func closes(_ closing: UInt8, inside container: String) throws(Failure) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw failure("unexpected end of input inside \(container)") }
        switch bytes[index] {
        case UInt8(ascii: ","):
            index += 1
            skipWhitespace()
            return false
        case closing:
            index += 1
            depth -= 1
            return true
        default:
            throw failure("unexpected \(describe(index)), expected ',' or '\(Character(Unicode.Scalar(closing)))'")
        }
    }

    private mutating func parseObject() throws(Failure) -> BodyValue {
        try enter()
        var members: [String: BodyValue] = [:]
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(members)
        }
        let topLevel = depth == 1
        while true {
            guard index < bytes.count else { throw failure("unexpected end of input inside an object") }
            guard bytes[index] == UInt8(ascii: "\"") else {
                throw failure("unexpected \(describe(index)), expected a member name in double quotes")
            }
            let nameOffset = index
            let name = try parseString()
            if members[name] != nil {
                var duplicate = failure("the member \(Self.quoted(name)) is given twice", at: nameOffset)
                duplicate.isDuplicate = true
                if topLevel { duplicate.member = name }
                throw duplicate
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw failure("expected ':' after the member name \(Self.quoted(name))")
            }
            index += 1
            skipWhitespace()
            if topLevel { member = name }
            let start = index
            members[name] = try parseValue()
            if topLevel {
                if name == rawMember { rawRange = start..<index }
                member = nil
            }
            if try closes(UInt8(ascii: "}"), inside: "an object") { return .object(members) }
        }
    }

    private mutating func parseArray() throws(Failure) -> BodyValue {
        try enter()
        var elements: [BodyValue] = []
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue())
            if try closes(UInt8(ascii: "]"), inside: "an array") { return .array(elements) }
        }
    }

    private mutating func expect(_ literal: StaticString) throws(Failure) {
        let count = literal.utf8CodeUnitCount
        let matches = literal.withUTF8Buffer { expected in
            index + count <= bytes.count && bytes[index..<(index + count)].elementsEqual(expected)
        }
        guard matches else { throw failure("unexpected \(describe(index)), expected a value") }
        index += count
    }

    // MARK: - Numbers

    /// A number: exact `Int` when it has no fraction or exponent and fits, else `Double` (finite).
    private mutating func parseNumber() throws(Failure) -> BodyValue {
        let start = index
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < bytes.count, Self.isDigit(bytes[index]) else {
            throw failure("a number needs a digit after '-'")
        }
        // Accumulated negatively: Int.min has no positive counterpart.
        var value = 0
        var overflow = false
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, Self.isDigit(bytes[index]) {
                if !overflow {
                    let (times, o1) = value.multipliedReportingOverflow(by: 10)
                    let (next, o2) = times.subtractingReportingOverflow(Int(bytes[index] &- UInt8(ascii: "0")))
                    if o1 || o2 { overflow = true } else { value = next }
                }
                index += 1
            }
        }
        var whole = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            whole = false
            index += 1
            guard index < bytes.count, Self.isDigit(bytes[index]) else {
                throw failure("a number needs a digit after '.'")
            }
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            whole = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count, Self.isDigit(bytes[index]) else {
                throw failure("a number needs a digit in its exponent")
            }
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        }
        if whole && !overflow {
            if !negative {
                guard value != Int.min else { return try inexact(from: start) }
                return .integer(-value)
            }
            return .integer(value)
        }
        return try inexact(from: start)
    }

    /// The number at `start..<index` as a `Double`; beyond its range is malformed.
    private func inexact(from start: Int) throws(Failure) -> BodyValue {
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let number = Double(text), number.isFinite else {
            throw failure("the number is out of range", at: start)
        }
        return .number(number)
    }

    @inline(__always)
    private static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    // MARK: - Strings

    /// A string at its opening quote; returns its text and steps past the closing quote.
    private mutating func parseString() throws(Failure) -> String {
        index += 1
        let start = index
        // Fast path: no escape.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: bytes[start..<index], as: UTF8.self)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw failure("a control character must be escaped in a string") }
            index += 1
        }
        guard index < bytes.count else { throw failure("unexpected end of input inside a string", at: start - 1) }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try unescape()
            case ..<0x20:
                throw failure("a control character must be escaped in a string")
            default:
                scratch.append(byte)
                index += 1
            }
        }
        throw failure("unexpected end of input inside a string", at: start - 1)
    }

    /// One escape at `index` (its backslash), appended to `scratch` as UTF-8.
    private mutating func unescape() throws(Failure) {
        let escape = index
        index += 1
        guard index < bytes.count else { throw failure("unexpected end of input inside a string") }
        let kind = bytes[index]
        index += 1
        switch kind {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(kind)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try hexUnit(escape)
            var scalar: Unicode.Scalar?
            switch unit {
            case 0xD800...0xDBFF:
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                else { throw failure("a high surrogate escape must be followed by a low one", at: escape) }
                index += 2
                let low = try hexUnit(escape)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw failure("a high surrogate escape must be followed by a low one", at: escape)
                }
                scalar = Unicode.Scalar(0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00))
            case 0xDC00...0xDFFF:
                throw failure("a low surrogate escape without a high one before it", at: escape)
            default:
                scalar = Unicode.Scalar(UInt32(unit))
            }
            guard let scalar else { throw failure("not a Unicode scalar", at: escape) }
            scratch.append(contentsOf: UTF8.encode(scalar)!)
        default:
            throw failure("unknown escape \\\(describeRaw(kind)) in a string", at: escape)
        }
    }

    /// Four hex digits at `index`, stepped past.
    private mutating func hexUnit(_ escape: Int) throws(Failure) -> UInt16 {
        guard index + 4 <= bytes.count else { throw failure("a \\u escape needs four hex digits", at: escape) }
        var unit: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("a \\u escape needs four hex digits", at: escape)
            }
            unit = unit << 4 | UInt16(digit)
            index += 1
        }
        return unit
    }

    // MARK: - Faults

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func failure(_ reason: String, at offset: Int? = nil) -> Failure {
        Failure(reason: reason, offset: offset ?? index, member: member)
    }

    /// The byte at `offset` for a message: a printable ASCII character quoted, else its hex value.
    private func describe(_ offset: Int) -> String {
        offset < bytes.count ? "'\(describeRaw(bytes[offset]))'" : "end of input"
    }

    private func describeRaw(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? String(Character(Unicode.Scalar(byte))) : "0x\(String(byte, radix: 16))"
    }

    /// A member name for a message: quoted, cut at 64 bytes.
    static func quoted(_ name: String) -> String {
        String(reflecting: String(name.utf8.prefix(64)) ?? String(name.prefix(16)))
    }
}

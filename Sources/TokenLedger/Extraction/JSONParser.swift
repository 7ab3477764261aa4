/// A strict RFC 8259 parser over UTF-8 bytes that reports the JSON path, line and column of a fault.
///
/// It never traps on input: nesting is capped at ``maxDepth`` (no stack exhaustion), all indexing is
/// bounds-checked against `end`, and numbers are converted with `Double(_:)` (overflow gives
/// infinity, which the count readers reject).
struct JSONParser {
    /// Deepest nesting accepted; real provider responses stay far below this.
    static let maxDepth = 512

    private let bytes: [UInt8]
    private var index: Int
    private let end: Int
    private var path = JSONPath.root
    private var depth = 0

    private init(bytes: [UInt8], start: Int, end: Int) {
        self.bytes = bytes
        self.index = start
        self.end = end
    }

    /// The outcome of parsing a prefix of a buffer.
    enum PrefixResult {
        /// A value followed only by whitespace.
        case complete(JSONValue)
        /// A value followed by more non-whitespace text starting at `offset` (NDJSON, or garbage).
        case trailing(JSONValue, offset: Int)
    }

    /// Parses a whole document; text after the value is an error.
    static func parseDocument(_ bytes: [UInt8]) throws(ExtractionError) -> JSONValue {
        switch try parsePrefix(bytes, start: 0, end: bytes.count) {
        case .complete(let value):
            return value
        case .trailing(_, let offset):
            throw fault(bytes, offset: offset, path: .root, "unexpected text after the JSON value")
        }
    }

    /// Parses the value at the start of `bytes[start..<end]` (after a byte-order mark and whitespace).
    static func parsePrefix(_ bytes: [UInt8], start: Int, end: Int) throws(ExtractionError) -> PrefixResult {
        var parser = JSONParser(bytes: bytes, start: start, end: min(end, bytes.count))
        parser.skipByteOrderMark()
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.index < parser.end {
            return .trailing(value, offset: parser.index)
        }
        return .complete(value)
    }

    // MARK: - Values

    private mutating func parseValue() throws(ExtractionError) -> JSONValue {
        guard index < end else { throw error("unexpected end of input, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected \(describeByte(at: index)), expected a value")
        }
    }

    /// Steps into an object or array at its opening bracket, one level deeper; when the container is
    /// empty (`closing` follows at once), steps out again past it and returns `true`.
    private mutating func enter(closing: UInt8) throws(ExtractionError) -> Bool {
        depth += 1
        if depth > Self.maxDepth { throw error("nesting deeper than \(Self.maxDepth) levels") }
        index += 1  // { or [
        skipWhitespace()
        guard index < end, bytes[index] == closing else { return false }
        index += 1
        depth -= 1
        return true
    }

    /// After a member or an element: reads `,` (another follows: `false`) or the container's `closing`
    /// bracket (it ends, one level up: `true`).
    private mutating func closes(_ closing: UInt8, inside container: String) throws(ExtractionError) -> Bool {
        skipWhitespace()
        guard index < end else { throw error("unexpected end of input inside \(container)") }
        switch bytes[index] {
        case UInt8(ascii: ","):
            index += 1
            return false
        case closing:
            index += 1
            depth -= 1
            return true
        default:
            throw error("unexpected \(describeByte(at: index)), expected ',' or '\(Character(Unicode.Scalar(closing)))'")
        }
    }

    private mutating func parseObject() throws(ExtractionError) -> JSONValue {
        var members: [String: JSONValue] = [:]
        if try enter(closing: UInt8(ascii: "}")) { return .object(members) }
        while true {
            skipWhitespace()
            guard index < end else { throw error("unexpected end of input inside an object") }
            guard bytes[index] == UInt8(ascii: "\"") else {
                throw error("unexpected \(describeByte(at: index)), expected a member name in double quotes")
            }
            let key = try parseString()
            skipWhitespace()
            guard index < end, bytes[index] == UInt8(ascii: ":") else {
                throw error("expected ':' after the member name \"\(key.prefix(40))\"")
            }
            index += 1
            skipWhitespace()
            path.push(.key(key))
            let value = try parseValue()
            path.pop()
            members[key] = value
            if try closes(UInt8(ascii: "}"), inside: "an object") { return .object(members) }
        }
    }

    private mutating func parseArray() throws(ExtractionError) -> JSONValue {
        var elements: [JSONValue] = []
        if try enter(closing: UInt8(ascii: "]")) { return .array(elements) }
        while true {
            skipWhitespace()
            path.push(.index(elements.count))
            let value = try parseValue()
            path.pop()
            elements.append(value)
            if try closes(UInt8(ascii: "]"), inside: "an array") { return .array(elements) }
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(ExtractionError) {
        let count = literal.utf8CodeUnitCount
        let start = literal.utf8Start
        for offset in 0..<count {
            guard index + offset < end, bytes[index + offset] == start[offset] else {
                throw error("invalid literal, expected \(literal)")
            }
        }
        index += count
    }

    // MARK: - Strings

    private mutating func parseString() throws(ExtractionError) -> String {
        let open = index
        index += 1  // opening quote
        var buffer: [UInt8] = []
        var chunkStart = index
        while true {
            guard index < end else {
                index = open
                throw error("unterminated string")
            }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                buffer.append(contentsOf: bytes[chunkStart..<index])
                index += 1
                return String(decoding: buffer, as: UTF8.self)
            }
            if byte < 0x20 {
                throw error("unescaped control character (0x\(String(byte, radix: 16))) in a string")
            }
            if byte == UInt8(ascii: "\\") {
                buffer.append(contentsOf: bytes[chunkStart..<index])
                try parseEscape(into: &buffer)
                chunkStart = index
                continue
            }
            index += 1
        }
    }

    private mutating func parseEscape(into buffer: inout [UInt8]) throws(ExtractionError) {
        index += 1  // backslash
        guard index < end else { throw error("unterminated escape sequence") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""): buffer.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): buffer.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "/"): buffer.append(UInt8(ascii: "/"))
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try parseHex4()
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate must be followed by \u and a low surrogate.
                if index + 1 < end, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                    let save = index
                    index += 2
                    let low = try parseHex4()
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        index = save
                        scalar = 0xFFFD
                    }
                } else {
                    scalar = 0xFFFD
                }
            } else if (0xDC00...0xDFFF).contains(scalar) {
                scalar = 0xFFFD
            }
            let unicode = Unicode.Scalar(scalar) ?? "\u{FFFD}"
            buffer.append(contentsOf: Array(String(Character(unicode)).utf8))
        default:
            index -= 1
            let shown =
                byte >= 0x21 && byte < 0x7F ? String(Character(Unicode.Scalar(byte))) : "0x\(String(byte, radix: 16))"
            throw error("invalid escape sequence \\\(shown)")
        }
    }

    private mutating func parseHex4() throws(ExtractionError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard index < end else { throw error("unterminated \\u escape") }
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A")) + 10
            default: throw error("invalid hex digit in a \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    // MARK: - Numbers

    private mutating func parseNumber() throws(ExtractionError) -> Double {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < end, isDigit(bytes[index]) else { throw error("a number needs a digit after '-'") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < end, isDigit(bytes[index]) { throw error("a number must not have a leading zero") }
        } else {
            while index < end, isDigit(bytes[index]) { index += 1 }
        }
        if index < end, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < end, isDigit(bytes[index]) else { throw error("a number needs a digit after '.'") }
            while index < end, isDigit(bytes[index]) { index += 1 }
        }
        if index < end, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < end, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < end, isDigit(bytes[index]) else { throw error("a number needs a digit in its exponent") }
            while index < end, isDigit(bytes[index]) { index += 1 }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let value = Double(text) else {
            index = start
            throw error("unreadable number")
        }
        return value
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    // MARK: - Whitespace and errors

    private mutating func skipWhitespace() {
        while index < end {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func skipByteOrderMark() {
        if index + 2 < end, bytes[index] == 0xEF, bytes[index + 1] == 0xBB, bytes[index + 2] == 0xBF {
            index += 3
        }
    }

    private func describeByte(at offset: Int) -> String {
        guard offset < end else { return "end of input" }
        let byte = bytes[offset]
        if byte >= 0x21, byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16))"
    }

    private func error(_ detail: String) -> ExtractionError {
        Self.fault(bytes, offset: index, path: path, detail)
    }

    /// A malformed-JSON error at byte `offset`, naming the path, line and column.
    static func fault(_ bytes: [UInt8], offset: Int, path: JSONPath, _ detail: String) -> ExtractionError {
        var line = 1
        var column = 1
        var i = 0
        let stop = min(offset, bytes.count)
        while i < stop {
            if bytes[i] == 0x0A {
                line += 1
                column = 1
            } else if bytes[i] & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return ExtractionError(.malformedJSON, at: path, "malformed JSON at line \(line), column \(column): \(detail)")
    }
}

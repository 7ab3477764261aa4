import Foundation
import Hummingbird
import NIOCore
import TokenLedger

/// A request's JSON object body, read up to the service's limit and checked field by field: an
/// unknown field is refused (not ignored), a wrong type or bad value names the field.
struct JSONBody: Sendable {
    let fields: [String: BodyValue]
    /// The `response` member's text as sent, when it is not a string (handed to the extractor as
    /// the CLI hands it a file: no re-encoding).
    let responseText: Data?

    /// Reads at most `limit` bytes of `request`'s body (413 past it, never read further), refuses
    /// invalid UTF-8 (naming the field it is in), malformed JSON, a non-object, and fields other
    /// than `allowed`.
    init(_ request: Request, limit: Int, allowed: Set<String>) async throws {
        let buffer = try await request.body.collect(upTo: limit)
        try self.init(bytes: Array(buffer.readableBytesView), allowed: allowed)
    }

    /// Checks and parses a body's bytes (see ``BodyJSONParser``): invalid UTF-8 is refused naming
    /// the field it is in, malformed JSON (a member given twice included), a non-object, and fields
    /// other than `allowed`.
    init(bytes: [UInt8], allowed: Set<String>) throws {
        if !Self.isASCII(bytes), String(validating: bytes, as: UTF8.self) == nil {
            let field = Self.field(atFirstInvalidByteOf: bytes)
            throw ValidationError(
                code: .invalidUTF8, field: field ?? "body",
                message: field.map { "\($0) is not valid UTF-8 (invalid bytes are refused, never replaced)" }
                    ?? "the body is not valid UTF-8 (invalid bytes are refused, never replaced)")
        }
        let parsed: BodyJSONParser.Parsed
        do {
            parsed = try BodyJSONParser.parse(bytes, keepingRawTextOf: "response")
        } catch {
            if bytes.isEmpty {
                throw ServiceError(.malformedJSON, field: "body", "the body is empty; send a JSON object")
            }
            let place = error.member.map { " in \(BodyJSONParser.quoted($0))" } ?? ""
            throw ServiceError(
                .malformedJSON, field: error.isDuplicate ? error.member ?? "body" : "body",
                "the body is not valid JSON: \(error.reason) (byte \(error.offset)\(place))")
        }
        guard case .object(let fields) = parsed.value else {
            throw ServiceError(
                .malformedJSON, field: "body", "the body must be a JSON object, not \(parsed.value.typeName)")
        }
        if !fields.keys.allSatisfy(allowed.contains) {
            for name in fields.keys.sorted() where !allowed.contains(name) {
                throw ServiceError(
                    .unknownField, field: name,
                    "unknown field \(String(reflecting: String(name.prefix(64)))); this endpoint takes: "
                        + allowed.sorted().joined(separator: ", "))
            }
        }
        self.fields = fields
        if case .string? = fields["response"] {
            self.responseText = nil
        } else {
            self.responseText = parsed.rawRange.map { Data(bytes[$0]) }
        }
    }

    /// Whether every byte is ASCII (then the bytes are valid UTF-8 without a closer look).
    static func isASCII(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var index = 0
            var high: UInt64 = 0
            while index + 8 <= raw.count {
                high |= raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                index += 8
            }
            while index < raw.count {
                high |= UInt64(raw[index])
                index += 1
            }
            return high & 0x8080_8080_8080_8080 == 0
        }
    }

    /// The field a UTF-8 error is in: the last object key before the first invalid byte.
    static func field(atFirstInvalidByteOf bytes: [UInt8]) -> String? {
        var end = 0
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): end += UTF8.width(scalar)
            case .emptyInput, .error: break loop
            }
        }
        var lastString: [UInt8] = []
        var current: [UInt8] = []
        var key: [UInt8]?
        var inString = false
        var escaped = false
        for byte in bytes[..<end] {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    lastString = current
                    continue
                }
                current.append(byte)
            } else if byte == UInt8(ascii: "\"") {
                inString = true
                current = []
            } else if byte == UInt8(ascii: ":") {
                key = lastString
            }
        }
        return key.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether `name` is present and not null.
    func has(_ name: String) -> Bool {
        if let value = fields[name], value != .null { return true }
        return false
    }

    /// A required string.
    func string(_ name: String) throws -> String {
        guard let value = try optionalString(name) else {
            throw ServiceError(.missingField, field: name, "\(name) is required")
        }
        return value
    }

    /// An optional string (null is absent).
    func optionalString(_ name: String) throws -> String? {
        switch fields[name] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case let other?: throw ServiceError(.wrongType, field: name, "\(name) must be a string, not \(other.typeName)")
        }
    }

    /// The user id in `name`: 1–256 bytes of UTF-8 without control characters.
    func user(_ name: String = "user") throws -> String {
        let user = try string(name)
        try Validation.validateUserID(user, field: name)
        return user
    }

    /// The call id in `call_id`: at most 128 bytes.
    func callID(_ name: String = "call_id") throws -> String {
        let callID = try string(name)
        try Validation.validateCallID(callID, field: name)
        return callID
    }

    /// A required whole number in `range`, named in the error.
    func integer(_ name: String, in range: ClosedRange<Int>, code: ValidationError.Code) throws -> Int {
        guard let value = try optionalInteger(name, in: range, code: code) else {
            throw ServiceError(.missingField, field: name, "\(name) is required")
        }
        return value
    }

    /// An optional whole number in `range` (null is absent).
    func optionalInteger(_ name: String, in range: ClosedRange<Int>, code: ValidationError.Code) throws -> Int? {
        switch fields[name] {
        case nil, .null?: return nil
        case .integer(let value)? where range.contains(value): return value
        case .integer?, .number?:
            throw ValidationError(
                code: code, field: name,
                message: "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        case let other?:
            throw ServiceError(.wrongType, field: name, "\(name) must be a number, not \(other.typeName)")
        }
    }

    /// A required token count: a whole number from 0 to 10^12.
    func count(_ name: String) throws -> Int {
        try integer(name, in: 0...Validation.maximumTokenCount, code: .invalidTokenCount)
    }

    /// An optional token count (null is absent).
    func optionalCount(_ name: String) throws -> Int? {
        try optionalInteger(name, in: 0...Validation.maximumTokenCount, code: .invalidTokenCount)
    }

    /// The usage counts of a record or settle body.
    func usage() throws -> UsageRecord {
        UsageRecord(
            inputTokens: try count("input_tokens"), outputTokens: try count("output_tokens"),
            cachedInputTokens: try optionalCount("cached_input_tokens"),
            cacheWriteTokens: try optionalCount("cache_write_tokens"),
            cacheWrite1hTokens: try optionalCount("cache_write_1h_tokens"),
            reasoningTokens: try optionalCount("reasoning_tokens"))
    }

    /// An optional model name (at most 128 bytes).
    func model() throws -> String {
        guard let model = try optionalString("model") else { return "" }
        try Validation.validateModel(model, field: "model")
        return model
    }

    /// An optional provider name (at most 128 bytes).
    func provider() throws -> String {
        guard let provider = try optionalString("provider") else { return "" }
        try Validation.validateProvider(provider, field: "provider")
        return provider
    }

    /// The raw provider response in `response`: a JSON string is its text (SSE, NDJSON or a JSON
    /// document), any other JSON value is re-encoded.
    func response() throws -> Data {
        switch fields["response"] {
        case nil, .null?: throw ServiceError(.missingField, field: "response", "response is required")
        case .string(let text)?: return Data(text.utf8)
        case let value?: return try responseText ?? JSONEncoder().encode(value)
        }
    }
}

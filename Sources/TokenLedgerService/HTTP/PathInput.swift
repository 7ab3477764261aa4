import Foundation
import Hummingbird
import TokenLedger

/// Path and query parameters as bytes: percent-decoded here (never by a lossy `String` decoding),
/// then checked as the CLI checks its arguments, so invalid UTF-8 is refused, never replaced.
enum PathInput {
    /// The percent-decoded bytes of `text`; `+` is a space when `plusIsSpace` (query strings).
    static func percentDecoded(_ text: Substring, plusIsSpace: Bool = false, field: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let high = utf8.index(after: index)
                guard high < utf8.endIndex, utf8.index(after: high) < utf8.endIndex,
                    let h = hexValue(utf8[high]), let l = hexValue(utf8[utf8.index(after: high)])
                else {
                    throw ServiceError(
                        .invalidParameter, field: field,
                        "\(field) has a malformed percent escape (a % not followed by two hex digits)")
                }
                bytes.append(h << 4 | l)
                index = utf8.index(high, offsetBy: 2)
                continue
            }
            bytes.append(plusIsSpace && byte == UInt8(ascii: "+") ? 0x20 : byte)
            index = utf8.index(after: index)
        }
        return bytes
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// A user id from a path parameter: percent-decoded, valid UTF-8 (refused otherwise), 1–256
    /// bytes without control characters.
    static func user(_ context: ServiceRequestContext, parameter: String = "user") throws -> String {
        guard let raw = context.parameters.get(parameter) else {
            throw ServiceError(.invalidParameter, field: parameter, "the path has no \(parameter)")
        }
        return try userID(bytes: percentDecoded(Substring(raw), field: parameter), field: parameter)
    }

    /// A call id from a path parameter: percent-decoded valid UTF-8, at most 128 bytes.
    static func callID(_ context: ServiceRequestContext) throws -> String {
        guard let raw = context.parameters.get("call_id") else {
            throw ServiceError(.invalidParameter, field: "call_id", "the path has no call_id")
        }
        let text = try Validation.decodeUTF8(percentDecoded(Substring(raw), field: "call_id"), field: "call_id")
        try Validation.validateCallID(text, field: "call_id")
        return text
    }

    /// A user id from bytes.
    static func userID(bytes: [UInt8], field: String) throws -> String {
        let user = try Validation.decodeUserID(bytes, field: field)
        try Validation.validateUserID(user, field: field)
        return user
    }

    /// The query's parameters, percent-decoded to bytes; a repeated name is refused.
    static func query(_ request: Request) throws -> [String: [UInt8]] {
        guard let query = request.uri.query, !query.isEmpty else { return [:] }
        var result: [String: [UInt8]] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let nameBytes = try percentDecoded(parts[0], plusIsSpace: true, field: "query")
            let name = String(decoding: nameBytes, as: UTF8.self)
            let value = try percentDecoded(parts.count > 1 ? parts[1] : "", plusIsSpace: true, field: name)
            if result[name] != nil {
                throw ServiceError(
                    .invalidParameter, field: name, "the query parameter \(name) is given more than once")
            }
            result[name] = value
        }
        return result
    }

    /// Refuses query parameters other than `allowed`.
    static func refuseUnknown(_ query: [String: [UInt8]], allowed: Set<String>) throws {
        for name in query.keys.sorted() where !allowed.contains(name) {
            let known = allowed.isEmpty ? "none" : allowed.sorted().joined(separator: ", ")
            throw ServiceError(
                .invalidParameter, field: name,
                "unknown query parameter \(String(reflecting: String(name.prefix(64)))); this endpoint takes: \(known)")
        }
    }

    /// A query parameter as text (valid UTF-8), or `nil` when absent.
    static func text(_ query: [String: [UInt8]], _ name: String) throws -> String? {
        guard let bytes = query[name] else { return nil }
        return try Validation.decodeUTF8(bytes, field: name)
    }
}

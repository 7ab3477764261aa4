/// The input rules of TokenLedger (SPEC "Bad input"), checked before anything is written.
///
/// Every check throws a ``ValidationError`` whose message names the field and what was wrong.
/// Lengths are counted in bytes of UTF-8, because that is what Redis stores. Strings are compared
/// byte for byte: TokenLedger does no Unicode normalization, so `"é"` (U+00E9) and `"e\u{301}"` are
/// two different user ids even though Swift's `==` calls them equal. Compare `utf8` views when it matters.
///
/// ### Control characters
/// "Control character" means Unicode general category Cc: U+0000–U+001F (C0), U+007F (DEL) and
/// U+0080–U+009F (C1, e.g. U+0085 NEXT LINE). Format characters (Cf) such as the zero-width joiner
/// in emoji sequences, and all other printable text including spaces, are allowed.
///
/// ### Counter headroom
/// One event carries at most 10^12 input and 10^12 output tokens, so a counter grows by at most
/// 2 × 10^12 per event. Redis counters are signed 64-bit (max ≈ 9.22 × 10^18): a single counter needs
/// more than 4.6 million maximum-size events in one cycle to overflow, and ``checkedAdd(_:_:field:)``
/// refuses that instead of wrapping. Lua scripts see Redis integers as doubles, exact up to 2^53 − 1;
/// limits are capped at ``maximumLimit`` (= 2^53 − 1), so a comparison `used + reserved + tokens <= limit`
/// stays correct: any rounding happens only above 2^53, where the sum is over every limit anyway.
public enum Validation {
    /// The largest token count one event may carry: 10^12.
    public static let maximumTokenCount = 1_000_000_000_000
    /// The longest user id, in bytes of UTF-8: 256.
    public static let maximumUserIDBytes = 256
    /// The longest model, provider or call id, in bytes of UTF-8: 128.
    public static let maximumIdentifierBytes = 128
    /// The longest key namespace, in bytes: 64.
    public static let maximumNamespaceBytes = 64
    /// The largest token limit: 2^53 − 1, the largest integer a Lua script compares exactly.
    public static let maximumLimit = 9_007_199_254_740_991
    /// The largest value a counter may reach: `Int64.max`, Redis's integer range.
    public static let maximumCounterValue = Int(Int64.max)

    // MARK: - User ids

    /// Refuses an empty value (unless allowed) or one longer than `maximum` UTF-8 bytes, with a
    /// message naming the field: "… is empty; it must be 1 to N <unit>" / "… is B bytes; the limit is N".
    private static func checkLength(
        _ value: String, maximum: Int, unit: String, allowEmpty: Bool = false, code: ValidationError.Code, field: String
    ) throws(ValidationError) {
        var label: String { ValidationError.label(field) }  // built only for an error message
        let bytes = value.utf8.count
        if bytes == 0 && !allowEmpty {
            throw ValidationError(
                code: code, field: field, message: "\(label) is empty; it must be 1 to \(maximum) \(unit)")
        }
        if bytes > maximum {
            throw ValidationError(
                code: code, field: field, message: "\(label) is \(bytes) bytes; the limit is \(maximum)")
        }
    }

    /// Checks a user id: 1–256 bytes of UTF-8 without control characters.
    /// - Parameters:
    ///   - userID: The user id as given.
    ///   - field: The field name used in the error (default `"user_id"`).
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidUserID``.
    public static func validateUserID(_ userID: String, field: String = "user_id") throws(ValidationError) {
        try checkLength(userID, maximum: maximumUserIDBytes, unit: "bytes of UTF-8", code: .invalidUserID, field: field)
        try refuseControlCharacters(userID, code: .invalidUserID, field: field)
    }

    // MARK: - Token counts and limits

    /// Checks a token count: an integer from 0 to 10^12.
    /// - Parameters:
    ///   - count: The count.
    ///   - field: The field name used in the error, e.g. `"input_tokens"`.
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidTokenCount``.
    public static func validateTokenCount(_ count: Int, field: String) throws(ValidationError) {
        var label: String { ValidationError.label(field) }  // built only for an error message
        if count < 0 {
            throw ValidationError(
                code: .invalidTokenCount, field: field,
                message: "\(label) is \(count); token counts must be integers from 0 to \(maximumTokenCount)")
        }
        if count > maximumTokenCount {
            throw ValidationError(
                code: .invalidTokenCount, field: field,
                message: "\(label) is \(count); the limit is \(maximumTokenCount) (10^12)")
        }
    }

    /// Parses and checks a token count written in decimal (e.g. a CLI argument): ASCII digits only,
    /// optionally preceded by `-` (which is then refused as negative), value 0 to 10^12.
    /// - Parameters:
    ///   - text: The text, e.g. `"1200"`. No sign, spaces, separators, exponents or fractions.
    ///   - field: The field name used in the error, e.g. `"input_tokens"`.
    /// - Returns: The count.
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidTokenCount``.
    public static func parseTokenCount(_ text: String, field: String) throws(ValidationError) -> Int {
        let value = try parseInteger(text, code: .invalidTokenCount, field: field, maximum: maximumTokenCount)
        try validateTokenCount(value, field: field)
        return value
    }

    /// Checks a token limit: an integer from 0 to ``maximumLimit`` (2^53 − 1). "No limit" is
    /// represented by the absence of a limit, never by a sentinel number.
    /// - Parameters:
    ///   - limit: The limit.
    ///   - field: The field name used in the error (default `"limit"`).
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidLimit``.
    public static func validateLimit(_ limit: Int, field: String = "limit") throws(ValidationError) {
        var label: String { ValidationError.label(field) }  // built only for an error message
        if limit < 0 {
            throw ValidationError(
                code: .invalidLimit, field: field,
                message: "\(label) is \(limit); limits must be integers from 0 to \(maximumLimit)")
        }
        if limit > maximumLimit {
            throw ValidationError(
                code: .invalidLimit, field: field,
                message: "\(label) is \(limit); the largest limit is \(maximumLimit) (2^53 - 1)")
        }
    }

    /// Parses and checks a token limit written in decimal.
    /// - Parameters:
    ///   - text: ASCII digits, e.g. `"500000"`.
    ///   - field: The field name used in the error (default `"limit"`).
    /// - Returns: The limit.
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidLimit``.
    public static func parseLimit(_ text: String, field: String = "limit") throws(ValidationError) -> Int {
        let value = try parseInteger(text, code: .invalidLimit, field: field, maximum: maximumLimit)
        try validateLimit(value, field: field)
        return value
    }

    /// Adds two counter values, refusing a result outside `0...Int64.max` instead of wrapping.
    /// - Parameters:
    ///   - a: A counter value (non-negative).
    ///   - b: An increment (non-negative).
    ///   - field: The counter's name used in the error, e.g. `"total_tokens"`.
    /// - Returns: `a + b`.
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/counterOverflow``.
    public static func checkedAdd(_ a: Int, _ b: Int, field: String) throws(ValidationError) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        if overflow || a < 0 || b < 0 || sum > maximumCounterValue {
            throw ValidationError(
                code: .counterOverflow, field: field,
                message: "\(ValidationError.label(field)) \(a) + \(b) does not fit in a 64-bit counter")
        }
        return sum
    }

    // MARK: - Identifiers

    /// Checks a call id: 1–128 bytes of UTF-8 without control characters.
    /// - Parameters:
    ///   - callID: The call id (idempotency key of one LLM call).
    ///   - field: The field name used in the error (default `"call_id"`).
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidIdentifier``.
    public static func validateCallID(_ callID: String, field: String = "call_id") throws(ValidationError) {
        try validateIdentifier(callID, field: field, allowEmpty: false)
    }

    /// Checks a model name: at most 128 bytes of UTF-8 without control characters.
    ///
    /// The empty string is allowed and means "not reported"; reports may show it as `(unknown)`.
    /// - Parameters:
    ///   - model: The model name as reported, e.g. `"gpt-4o-2024-08-06"`.
    ///   - field: The field name used in the error (default `"model"`).
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidIdentifier``.
    public static func validateModel(_ model: String, field: String = "model") throws(ValidationError) {
        try validateIdentifier(model, field: field, allowEmpty: true)
    }

    /// Checks a provider name: at most 128 bytes of UTF-8 without control characters.
    ///
    /// The empty string is allowed and means "not reported".
    /// - Parameters:
    ///   - provider: The provider name, e.g. `"openai"`.
    ///   - field: The field name used in the error (default `"provider"`).
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidIdentifier``.
    public static func validateProvider(_ provider: String, field: String = "provider") throws(ValidationError) {
        try validateIdentifier(provider, field: field, allowEmpty: true)
    }

    /// Checks a free-form identifier: at most 128 bytes of UTF-8, no control characters.
    /// - Parameters:
    ///   - value: The identifier.
    ///   - field: The field name used in the error.
    ///   - allowEmpty: Whether the empty string is accepted.
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidIdentifier``.
    public static func validateIdentifier(
        _ value: String, field: String, allowEmpty: Bool
    ) throws(ValidationError) {
        try checkLength(
            value, maximum: maximumIdentifierBytes, unit: "bytes of UTF-8", allowEmpty: allowEmpty,
            code: .invalidIdentifier, field: field)
        try refuseControlCharacters(value, code: .invalidIdentifier, field: field)
    }

    /// Checks a key namespace: 1–64 bytes, each one of `A-Z a-z 0-9 _ . -`.
    ///
    /// The namespace starts every key and never contains `{`, `}` or `:`, so the user hash tag that
    /// follows it is always the first tag of the key.
    /// - Parameters:
    ///   - namespace: The namespace, e.g. `"tl"`.
    ///   - field: The field name used in the error (default `"namespace"`).
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidNamespace``.
    public static func validateNamespace(_ namespace: String, field: String = "namespace") throws(ValidationError) {
        try checkLength(namespace, maximum: maximumNamespaceBytes, unit: "bytes", code: .invalidNamespace, field: field)
        var label: String { ValidationError.label(field) }  // built only for an error message
        var offset = 0
        for scalar in namespace.unicodeScalars {
            let v = scalar.value
            let allowed =
                (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || (v >= 0x30 && v <= 0x39)
                || v == 0x5F || v == 0x2E || v == 0x2D
            if !allowed {
                throw ValidationError(
                    code: .invalidNamespace, field: field,
                    message: "\(label) contains \(describe(scalar)) at byte \(offset); "
                        + "only letters A-Z a-z, digits, '_', '.' and '-' are allowed")
            }
            offset += UTF8.width(scalar)
        }
    }

    // MARK: - Dates

    /// Parses a cycle name: the cycle's start date, `YYYY-MM-DD` (e.g. from `--cycle`).
    /// - Parameters:
    ///   - text: The text, e.g. `"2025-02-28"`.
    ///   - field: The field name used in the error (default `"cycle"`).
    /// - Returns: The date.
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidCycle``.
    public static func parseCycleDate(_ text: String, field: String = "cycle") throws(ValidationError) -> CalendarDate {
        do {
            return try CalendarDate(parsing: text, field: field)
        } catch {
            throw ValidationError(code: .invalidCycle, field: error.field, message: error.message)
        }
    }

    // MARK: - Helpers

    /// Whether a scalar is a control character (general category Cc: C0, DEL, C1).
    ///
    /// Cc is a closed, stable set defined by the Unicode standard as exactly these 65 code points.
    /// - Parameter scalar: The scalar to test.
    /// - Returns: `true` for U+0000–U+001F and U+007F–U+009F.
    public static func isControlCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value <= 0x9F)
    }

    static func refuseControlCharacters(
        _ value: String, code: ValidationError.Code, field: String
    ) throws(ValidationError) {
        var offset = 0
        for scalar in value.unicodeScalars {
            if isControlCharacter(scalar) {
                throw ValidationError(
                    code: code, field: field,
                    message: "\(ValidationError.label(field)) contains control character \(hex(scalar)) "
                        + "at byte \(offset); control characters are not allowed")
            }
            offset += UTF8.width(scalar)
        }
    }

    /// Parses ASCII decimal digits with an optional leading `-`; values beyond `maximum` are
    /// reported as too large without overflowing.
    static func parseInteger(
        _ text: String, code: ValidationError.Code, field: String, maximum: Int
    ) throws(ValidationError) -> Int {
        var label: String { ValidationError.label(field) }  // built only for an error message
        var bytes = Substring(text).utf8[...]
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { bytes = bytes.dropFirst() }
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw ValidationError(
                code: code, field: field,
                message: "\(label) \(ValidationError.quoted(text)) is not a whole number")
        }
        var value = 0
        for byte in bytes {
            value = value * 10 + Int(byte - 0x30)
            if value > maximum {
                if negative {
                    throw ValidationError(
                        code: code, field: field,
                        message: "\(label) \(ValidationError.quoted(text)) is negative; the minimum is 0")
                }
                throw ValidationError(
                    code: code, field: field,
                    message: "\(label) \(ValidationError.quoted(text)) is too large; the limit is \(maximum)")
            }
        }
        return negative ? -value : value
    }

    static func hex(_ scalar: Unicode.Scalar) -> String {
        let digits = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    static func describe(_ scalar: Unicode.Scalar) -> String {
        if isControlCharacter(scalar) || scalar.properties.isWhitespace {
            return hex(scalar)
        }
        return "\"\(Character(scalar))\" (\(hex(scalar)))"
    }
}

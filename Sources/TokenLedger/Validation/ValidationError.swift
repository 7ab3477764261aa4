import Foundation

/// Input that TokenLedger refuses, with a message that names the field and what was wrong.
///
/// Every check in ``Validation``, ``CalendarDate/init(parsing:field:)``,
/// ``BillingCyclePolicy/init(period:timeZone:)`` and ``ISO8601Instant/parse(_:field:)`` throws
/// this type. A rejection happens before anything is written, so nothing already recorded changes.
///
/// Match on ``code`` (extensible: new codes are new static lets, never new enum cases), show
/// ``message`` to people. The CLI maps it to exit code 65 (bad input data), or 64 when the bad value
/// came from a command-line option and the command prefers a usage error.
public struct ValidationError: Error, Sendable, Hashable, CustomStringConvertible, LocalizedError {
    /// What kind of input was refused. Compare with the static lets, e.g. `error.code == .invalidUserID`.
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        /// A stable snake_case name, suitable for JSON output and logs.
        public let rawValue: String

        /// Creates a code from its stable name.
        /// - Parameter rawValue: A snake_case name such as `"invalid_user_id"`.
        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// The stable name (``rawValue``).
        public var description: String { rawValue }

        /// A user id is empty, longer than 256 bytes of UTF-8, or contains a control character.
        public static let invalidUserID = Code(rawValue: "invalid_user_id")
        /// A token count is negative, above 10^12, or not an integer.
        public static let invalidTokenCount = Code(rawValue: "invalid_token_count")
        /// A model, provider or call id is too long or contains a control character.
        public static let invalidIdentifier = Code(rawValue: "invalid_identifier")
        /// A key namespace is empty, longer than 64 bytes, or has a character outside `[A-Za-z0-9_.-]`.
        public static let invalidNamespace = Code(rawValue: "invalid_namespace")
        /// A calendar date is not `YYYY-MM-DD` or not a real date.
        public static let invalidDate = Code(rawValue: "invalid_date")
        /// A cycle name (its start date, `YYYY-MM-DD`) is malformed or not a real date.
        public static let invalidCycle = Code(rawValue: "invalid_cycle")
        /// An instant is not ISO 8601 (e.g. `2026-03-08T07:30:00Z`) or not a real date and time.
        public static let invalidInstant = Code(rawValue: "invalid_instant")
        /// A time zone is not a known IANA identifier.
        public static let invalidTimeZone = Code(rawValue: "invalid_time_zone")
        /// A billing cycle policy has an unknown period or an anchor out of range.
        public static let invalidPolicy = Code(rawValue: "invalid_policy")
        /// A token limit is negative or too large to compare exactly.
        public static let invalidLimit = Code(rawValue: "invalid_limit")
        /// A sum of counters would leave the range that Redis (Int64) and Lua (2^53) hold exactly.
        public static let counterOverflow = Code(rawValue: "counter_overflow")
    }

    /// What kind of input was refused.
    public var code: Code
    /// The machine name of the refused field, e.g. `"user_id"`, `"input_tokens"`, `"timezone"`.
    public var field: String
    /// A sentence for people that names the field and what was wrong,
    /// e.g. `user id is 257 bytes; the limit is 256`.
    public var message: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: What kind of input was refused.
    ///   - field: The machine name of the refused field.
    ///   - message: A sentence naming the field and what was wrong.
    public init(code: Code, field: String, message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    /// The ``message``.
    public var description: String { message }

    /// The ``message`` (so `localizedDescription` shows it too).
    public var errorDescription: String? { message }
}

extension ValidationError {
    /// The human label for a machine field name: underscores become spaces (`user_id` → `user id`).
    static func label(_ field: String) -> String {
        field.replacingOccurrences(of: "_", with: " ")
    }

    /// Quotes untrusted text for an error message: escapes control characters and quotes, and
    /// shortens it to at most `limit` characters so a huge argument cannot flood the terminal.
    static func quoted(_ text: String, limit: Int = 64) -> String {
        if text.count <= limit {
            return String(reflecting: text)
        }
        return String(reflecting: String(text.prefix(limit))) + "… (\(text.utf8.count) bytes)"
    }
}

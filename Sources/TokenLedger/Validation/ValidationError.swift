import ErrorCodes
import Foundation
import RedisClient

/// Input that TokenLedger refuses, with a message that names the field and what was wrong.
///
/// Every check in ``Validation``, ``CalendarDate/init(parsing:field:)``,
/// ``BillingCyclePolicy/init(period:timeZone:)`` and ``ISO8601Instant/parse(_:field:)`` throws
/// this type. A rejection happens before anything is written, so nothing already recorded changes.
///
/// Match on ``code`` (closed: only its static lets exist; new codes are new static lets), show
/// ``message`` to people. The CLI maps it to exit code 65 (bad input data), or 64 when the bad value
/// came from a command-line option and the command prefers a usage error.
public struct ValidationError: Error, Sendable, Hashable, CustomStringConvertible, LocalizedError, CategorizedError {
    /// What kind of input was refused. Compare with the static lets, e.g. `error.code == .invalidUserID`.
    public struct Code: ClosedErrorCode {
        /// A stable snake_case name, suitable for JSON output and logs.
        public let rawValue: String

        /// Creates a code from its stable name; private, so the static lets are all the codes there are.
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// Every code, for tables and tests.
        public static let allCases: [Code] = [
            .invalidUserID, .invalidTokenCount, .invalidIdentifier, .invalidNamespace, .invalidDate, .invalidCycle,
            .invalidInstant, .invalidTimeZone, .invalidPolicy, .invalidLimit, .counterOverflow, .invalidDuration,
            .invalidUTF8, .reservationConflict, .inputTooLarge, .invalidConfiguration, .invalidKeyName, .keyExists,
            .invalidPrice, .unknownModel, .invalidPriceFile,
        ]

        /// A user id is empty, longer than 256 bytes of UTF-8, or contains a control character.
        public static let invalidUserID = Code("invalid_user_id")
        /// A token count is negative, above 10^12, or not an integer.
        public static let invalidTokenCount = Code("invalid_token_count")
        /// A model, provider or call id is too long or contains a control character.
        public static let invalidIdentifier = Code("invalid_identifier")
        /// A key namespace is empty, longer than 64 bytes, or has a character outside `[A-Za-z0-9_.-]`.
        public static let invalidNamespace = Code("invalid_namespace")
        /// A calendar date is not `YYYY-MM-DD` or not a real date.
        public static let invalidDate = Code("invalid_date")
        /// A cycle name (its start date, `YYYY-MM-DD`) is malformed or not a real date.
        public static let invalidCycle = Code("invalid_cycle")
        /// An instant is not ISO 8601 (e.g. `2026-03-08T07:30:00Z`) or not a real date and time.
        public static let invalidInstant = Code("invalid_instant")
        /// A time zone is not a known IANA identifier.
        public static let invalidTimeZone = Code("invalid_time_zone")
        /// A billing cycle policy has an unknown period or an anchor out of range.
        public static let invalidPolicy = Code("invalid_policy")
        /// A token limit is negative or too large to compare exactly.
        public static let invalidLimit = Code("invalid_limit")
        /// A sum of counters would leave the range that Redis (Int64) and Lua (2^53) hold exactly.
        public static let counterOverflow = Code("counter_overflow")
        /// A duration (a TTL, a timeout, a back-off) is outside its documented range.
        public static let invalidDuration = Code("invalid_duration")
        /// Text that must be UTF-8 (an id given as bytes) holds invalid bytes.
        public static let invalidUTF8 = Code("invalid_utf8")
        /// A call id is reused with a different reservation amount than the lease it already holds.
        public static let reservationConflict = Code("reservation_conflict")
        /// Standard input or a file is larger than the cap on input size.
        public static let inputTooLarge = Code("input_too_large")
        /// A configuration file is missing, unreadable or not JSON.
        public static let invalidConfiguration = Code("invalid_configuration")
        /// An API key name is empty, longer than 64 bytes, or has a character outside `[A-Za-z0-9_.-]`.
        public static let invalidKeyName = Code("invalid_key_name")
        /// An API key with this name already exists (``APIKeyStore/create(name:role:defaultUser:)``); nothing changed.
        public static let keyExists = Code("key_exists")
        /// A price rate is not a decimal number, is negative, has more than nine decimals (USD per
        /// million tokens) or is above ``PriceRate/maximum``; or a long-context tier is malformed.
        public static let invalidPrice = Code("invalid_price")
        /// A model has no price (no override and no entry of the default price file matches it), or no
        /// override to delete.
        public static let unknownModel = Code("unknown_model")
        /// A price file (the default one, or LiteLLM's for `price import`) is not JSON of the expected shape.
        public static let invalidPriceFile = Code("invalid_price_file")
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

    /// `ErrorCategory.badInput`: every code is input refused before anything was written.
    public var category: ErrorCategory { .badInput }

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

import ErrorCodes

/// An error writing or reading the spool.
public struct SpoolError: Error, Sendable, Hashable, CustomStringConvertible, CategorizedError {
    /// The kind of failure. Closed: only the static lets exist, each with one stable snake_case name.
    public struct Code: ClosedErrorCode {
        /// The code's stable snake_case name.
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        /// Every code, for tables and tests.
        public static let allCases: [Code] = [.full, .io]
        /// The spool reached its size bound; the event was not written.
        public static let full = Code("full")
        /// A file operation failed (permissions, disk full, …).
        public static let io = Code("io")
    }

    /// `ErrorCategory.internal`: the spool is the last resort when Redis is down, so a spool that
    /// cannot take an event is a failure of this host an operator must see, not a retry.
    public var category: ErrorCategory { .internal }

    /// What went wrong.
    public var code: Code
    /// A message naming the file or directory.
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}

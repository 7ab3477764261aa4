import ErrorCodes

/// An error from loading a tiktoken rank file (`.tiktoken` or `.tiktoken.gz`).
///
/// The ``code`` says what kind of failure it was; ``path`` names the file and ``line`` the
/// 1-based line of the (decompressed) text where the problem was found, when there is one.
public struct RankFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure. Closed: only the static lets exist, each with one stable snake_case name.
    public struct Code: ClosedErrorCode {
        /// The code's stable snake_case name, e.g. `file_not_found`.
        public let rawValue: String

        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// Every code, for tables and tests.
        public static let allCases: [Code] = [
            .fileNotFound, .unreadable, .gzip, .emptyFile, .malformedLine, .badBase64, .missingRank, .invalidRank,
            .rankOutOfRange, .duplicateRank, .duplicateToken, .rankCountMismatch, .missingByteToken,
        ]

        /// No file exists at the path.
        public static let fileNotFound = Code("file_not_found")
        /// The file exists but could not be read (permissions, a directory, an I/O error).
        public static let unreadable = Code("unreadable")
        /// The gzip stream is corrupt or truncated, or a `.gz` file is not gzip at all.
        public static let gzip = Code("gzip")
        /// The file (after decompression) holds no rank lines.
        public static let emptyFile = Code("empty_file")
        /// A line does not have the shape `base64token rank`.
        public static let malformedLine = Code("malformed_line")
        /// A line's token is not valid standard base64, or decodes to no bytes.
        public static let badBase64 = Code("bad_base64")
        /// A line has a token but no rank.
        public static let missingRank = Code("missing_rank")
        /// A line's rank is not a non-negative decimal integer.
        public static let invalidRank = Code("invalid_rank")
        /// A line's rank is not below the number of ranks the encoding expects.
        public static let rankOutOfRange = Code("rank_out_of_range")
        /// A rank appears on two lines.
        public static let duplicateRank = Code("duplicate_rank")
        /// The same token bytes appear on two lines.
        public static let duplicateToken = Code("duplicate_token")
        /// The file holds a different number of ranks than the encoding expects.
        public static let rankCountMismatch = Code("rank_count_mismatch")
        /// Some single byte has no token, so byte-level merging could not cover every input.
        public static let missingByteToken = Code("missing_byte_token")
    }

    /// What kind of failure this is.
    public var code: Code
    /// The path of the rank file, as the caller gave it.
    public var path: String
    /// The 1-based line of the decompressed text where the problem was found, if it is tied to one.
    public var line: Int?
    /// A human-readable message naming the cause.
    public var message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What kind of failure this is.
    ///   - path: The rank file's path.
    ///   - line: The 1-based line where the problem was found, if any.
    ///   - message: A message naming the cause.
    public init(code: Code, path: String, line: Int? = nil, message: String) {
        self.code = code
        self.path = path
        self.line = line
        self.message = message
    }

    /// `path:line: code: message` (the line is left out when there is none).
    public var description: String {
        if let line {
            return "\(path):\(line): \(code): \(message)"
        }
        return "\(path): \(code): \(message)"
    }
}

import ErrorCodes
import Foundation
import RedisClient

/// Why a provider response could not be turned into a ``UsageRecord``.
///
/// Every error names the place in the input it is about: ``path`` is a JSON path such as
/// `$.usage.prompt_tokens` or `$[3].usage` (for streams, `$[i]` is the i-th decoded event, whether
/// the input was a JSON array, SSE text or NDJSON lines). ``message`` starts with that path and
/// says what was wrong.
public struct ExtractionError: Error, Sendable, Hashable, CustomStringConvertible, LocalizedError, CategorizedError {
    /// The kind of failure. Closed: only the static lets exist. New codes may be added; switch with
    /// a `default` branch.
    public struct Code: ClosedErrorCode {
        /// A stable, snake_case name for the code (for logs and JSON output).
        public let rawValue: String

        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// Every code, for tables and tests.
        public static let allCases: [Code] = [
            .malformedJSON, .unrecognizedShape, .invalidValue, .missingField, .noUsage, .incompleteUsage,
        ]

        /// The input is not JSON (nor SSE text nor NDJSON lines of JSON).
        public static let malformedJSON = Code("malformed_json")
        /// The JSON is well formed but matches no known provider shape.
        public static let unrecognizedShape = Code("unrecognized_shape")
        /// A value has the wrong type or is out of range: a string or fraction where a whole
        /// number was expected, a negative count, a count above 10^12, a subset larger than its parent.
        public static let invalidValue = Code("invalid_value")
        /// A usage object was found but a count it needs is missing or `null`.
        public static let missingField = Code("missing_field")
        /// The response (or every event of a stream) carries no usage at all.
        public static let noUsage = Code("no_usage")
        /// Usage was found, but the input/output split is unknown (for example the aiecs dict with
        /// only `tokens_used`) or the output count is. (Ollama without `prompt_eval_count` is not
        /// refused: its output is recorded and its input marked estimated.) Use
        /// `UsageExtractor.extractUsage(from:provider:)` and
        /// ``ExtractedUsage/resolved(promptEstimate:)`` to complete it.
        public static let incompleteUsage = Code("incomplete_usage")
    }

    /// The kind of failure.
    public var code: Code
    /// The JSON path of the offending value (`$` for the whole input).
    public var path: String
    /// A sentence that names ``path`` and what was wrong with it.
    public var message: String

    /// Creates an error; `message` should name `path`.
    ///
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - path: The JSON path of the offending value.
    ///   - message: A sentence naming the path and the cause.
    public init(code: Code, path: String, message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    /// `ErrorCategory.badInput`: the response given to extract from was refused.
    public var category: ErrorCategory { .badInput }

    /// The ``message``.
    public var description: String { message }

    /// The ``message``, for Foundation's `localizedDescription`.
    public var errorDescription: String? { message }
}

extension ExtractionError {
    /// Builds an error whose message is `"<path>: <detail>"`.
    init(_ code: Code, at path: JSONPath, _ detail: String) {
        let rendered = path.description
        self.init(code: code, path: rendered, message: "\(rendered): \(detail)")
    }
}

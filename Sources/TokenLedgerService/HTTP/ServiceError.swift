import ErrorCodes
import HTTPTypes

/// A request the service refuses before the library sees it: malformed JSON, a missing or unknown
/// field, a wrong type, no or a wrong API key, an unknown route or method, a body over the limit.
public struct ServiceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of refusal. Closed: only the static lets exist, each with one snake_case name.
    public struct Code: ClosedErrorCode {
        /// The stable snake_case name.
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// Every code.
        public static let allCases: [Code] = [
            .malformedJSON, .missingField, .wrongType, .unknownField, .conflictingFields, .invalidParameter,
            .unauthorized,
            .forbidden, .notFound, .methodNotAllowed, .callConflict, .eventParked, .bodyTooLarge, .quotaDenied,
            .internalError,
        ]
        /// The body is not JSON (or not a JSON object).
        public static let malformedJSON = Code("malformed_json")
        /// A required field is missing.
        public static let missingField = Code("missing_field")
        /// A field has the wrong JSON type.
        public static let wrongType = Code("wrong_type")
        /// A field the endpoint does not know (refused, not ignored).
        public static let unknownField = Code("unknown_field")
        /// Two fields that exclude each other (a raw `response` and counts).
        public static let conflictingFields = Code("conflicting_fields")
        /// A path or query parameter is malformed.
        public static let invalidParameter = Code("invalid_parameter")
        /// No API key, or one that is unknown or revoked.
        public static let unauthorized = Code("unauthorized")
        /// The API key's role may not do this.
        public static let forbidden = Code("forbidden")
        /// No such route.
        public static let notFound = Code("not_found")
        /// The route exists, not with this method.
        public static let methodNotAllowed = Code("method_not_allowed")
        /// The call id was already recorded with another amount (a reused call id, not a retry).
        public static let callConflict = Code("call_conflict")
        /// The call's cycle is older than the dedupe window (its call ids were dropped): not counted,
        /// parked in the spool directory when there is a spool.
        public static let eventParked = Code("event_parked")
        /// The body is larger than the service's limit; it was not read further.
        public static let bodyTooLarge = Code("body_too_large")
        /// The quota does not admit the call.
        public static let quotaDenied = Code("quota_denied")
        /// A fault of the service itself.
        public static let internalError = Code("internal")
    }

    /// What was refused.
    public var code: Code
    /// The request field (or parameter) at fault, if one is.
    public var field: String?
    /// A sentence naming what was wrong; never a secret.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, field: String? = nil, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    /// The message.
    public var description: String { message }

    /// The HTTP status of each code.
    var status: HTTPResponse.Status {
        switch code {
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .callConflict, .eventParked: .conflict
        case .bodyTooLarge: .contentTooLarge
        case .quotaDenied: .tooManyRequests
        case .internalError: .internalServerError
        default: .badRequest
        }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RedisClient
import TokenLedger

/// An RFC 9457 problem (`application/problem+json`): `type`, `title`, `status`, `detail` and a
/// stable `code`; `field` names the bad field of a 400, `decision` is the quota decision of a 429.
struct Problem: Encodable, Sendable {
    var type: String
    var title: String
    var status: Int
    var detail: String
    var code: String
    var field: String?
    var decision: QuotaDecision?

    init(status: HTTPResponse.Status, code: String, detail: String, field: String? = nil) {
        self.type = "urn:tokenledger:problem:\(code)"
        self.title = status.reasonPhrase
        self.status = status.code
        self.detail = detail
        self.code = code
        self.field = field
    }

    enum CodingKeys: String, CodingKey { case type, title, status, detail, code, field, decision }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(title, forKey: .title)
        try c.encode(status, forKey: .status)
        try c.encode(detail, forKey: .detail)
        try c.encode(code, forKey: .code)
        try c.encodeIfPresent(field, forKey: .field)
        try c.encodeIfPresent(decision, forKey: .decision)
    }

    /// The problem of any error: the service's own, the library's by their `code` and
    /// ``ErrorCategory`` (the table in docs/service.md).
    static func of(_ error: any Error) -> Problem {
        switch error {
        case let error as ServiceError:
            return Problem(status: error.status, code: error.code.rawValue, detail: error.message, field: error.field)
        case let error as TokenLedger.ValidationError:
            let status: HTTPResponse.Status =
                switch error.code {
                case .reservationConflict: .conflict
                case .inputTooLarge: .contentTooLarge
                default: .badRequest
                }
            return Problem(status: status, code: error.code.rawValue, detail: error.message, field: error.field)
        case let error as ExtractionError:
            return Problem(
                status: .badRequest, code: error.code.rawValue, detail: error.message, field: "response")
        case let denial as QuotaDenial:
            let decision = denial.decision
            var problem = Problem(
                status: .tooManyRequests, code: ServiceError.Code.quotaDenied.rawValue,
                detail: decision.deniedBy != .tokens && decision.deniedBy != nil
                    ? (decision.denialReason ?? "the currency limit does not admit this call")
                    : "the limit does not admit \(decision.requested) more tokens for this user: "
                        + "\(decision.used) used and \(decision.reserved) reserved of \(decision.limit.map(String.init) ?? "no limit")"
            )
            problem.decision = decision
            return problem
        case is NIOTooManyBytesError:
            return Problem(
                status: .contentTooLarge, code: ServiceError.Code.bodyTooLarge.rawValue,
                detail: "the request body is larger than the service's body limit; it was not read further")
        case let error as HTTPError where error.status == .notFound:
            return Problem(status: .notFound, code: ServiceError.Code.notFound.rawValue, detail: "no such route")
        case let error as HTTPError where error.status == .contentTooLarge:
            return Problem(
                status: .contentTooLarge, code: ServiceError.Code.bodyTooLarge.rawValue,
                detail: "the request body is larger than the service's body limit; it was not read further")
        default:
            break
        }
        let category = ErrorCategory.of(error)
        let status: HTTPResponse.Status =
            switch category {
            case .badInput: .badRequest
            case .quotaDenied: .tooManyRequests
            case .unavailable, .permissionDenied, .incompatibleData: .serviceUnavailable
            case .corruptData, .misuse, .internal: .internalServerError
            }
        return Problem(status: status, code: code(of: error, category: category), detail: detail(of: error))
    }

    /// The error's own code in its one spelling; the category's name for errors without one.
    static func code(of error: any Error, category: ErrorCategory) -> String {
        switch error {
        case let error as RedisError: error.code.rawValue
        case let error as LedgerError: error.code.rawValue
        case let error as SpoolError: "spool_" + error.code.rawValue
        default: category == .internal ? ServiceError.Code.internalError.rawValue : category.rawValue
        }
    }

    /// The sentence: the library's message (never a password: RedisError redacts it); a generic
    /// sentence for anything else, so no Swift type name or internal detail leaks.
    static func detail(of error: any Error) -> String {
        switch error {
        case let error as RedisError: error.message
        case let error as LedgerError: error.message
        case let error as SpoolError: error.message
        default: "internal error"
        }
    }

    /// Every `code` a problem can carry: the service's own and the library's error codes (the
    /// OpenAPI document's enum lists them all).
    static var allCodes: Set<String> {
        var codes = Set(ServiceError.Code.allCases.map(\.rawValue))
        codes.formUnion(TokenLedger.ValidationError.Code.allCases.map(\.rawValue))
        codes.formUnion(ExtractionError.Code.allCases.map(\.rawValue))
        codes.formUnion(LedgerError.Code.allCases.map(\.rawValue))
        codes.formUnion(RedisError.Code.allCases.map(\.rawValue))
        codes.formUnion(SpoolError.Code.allCases.map { "spool_" + $0.rawValue })
        codes.formUnion(ErrorCategory.allCases.map(\.rawValue))
        return codes
    }
}

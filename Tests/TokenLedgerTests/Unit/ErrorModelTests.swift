import BytePairEncoding
import Foundation
import RedisClient
import Testing

@testable import TokenLedger

/// The error model: every code of every error type has one snake_case name and one category, and
/// the guard and the recorder decide from that category.
@Suite("One error model: codes, categories, decisions")
struct ErrorModelTests {
    @Test("every LedgerError code has one snake_case name and one category")
    func ledgerCodes() {
        let expected: [String: ErrorCategory] = [
            "overflow": .badInput, "cycle_retired": .badInput, "cycle_folded": .badInput, "corrupt_data": .corruptData,
            "newer_schema": .incompatibleData, "older_schema": .incompatibleData, "policy_changed": .unavailable,
            "busy": .unavailable,
            "lock_lost": .unavailable, "namespace_mismatch": .misuse, "instant_in_future": .misuse,
            "missing_script": .internal, "script_mismatch": .internal, "unexpected_reply": .internal,
            "not_ready": .internal, "not_replicated": .unavailable,
        ]
        #expect(Set(expected.keys) == Set(LedgerError.Code.allCases.map(\.rawValue)))
        #expect(LedgerError.Code.allCases.count == expected.count)
        for code in LedgerError.Code.allCases {
            #expect(LedgerError(code: code, message: "m").category == expected[code.rawValue], "\(code)")
            #expect("\(LedgerError(code: code, message: "m"))" == "\(code.rawValue): m")
        }
        #expect(LedgerError.Code.corruptData.name == "corrupt_data")
    }

    @Test("input errors are bad input, spool errors internal, quota errors denied or unavailable")
    func otherCategories() {
        let validation = ValidationError.Code.allCases
        #expect(validation.count == 21 && Set(validation.map(\.rawValue)).count == 21)
        for code in validation {
            #expect(code.rawValue.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, "\(code)")
            #expect(ValidationError(code: code, field: "f", message: "m").category == .badInput)
        }
        #expect(Set(ExtractionError.Code.allCases.map(\.rawValue)).count == 6)
        for code in ExtractionError.Code.allCases {
            #expect(code.rawValue.allSatisfy { $0.isLowercase || $0 == "_" }, "\(code)")
            #expect(ExtractionError(code: code, path: "$", message: "$: m").category == .badInput)
        }
        #expect(SpoolError.Code.allCases.map(\.rawValue) == ["full", "io"])
        for code in SpoolError.Code.allCases {
            #expect(ErrorCategory.of(SpoolError(code: code, message: "m")) == .internal)
        }
        for code in RankFileError.Code.allCases {
            #expect(code.rawValue.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, "\(code)")
            let category = ErrorCategory.of(RankFileError(code: code, path: "p", message: "m"))
            let missing = code == .fileNotFound || code == .unreadable
            #expect(category == (missing ? .misuse : .corruptData), "\(code)")
        }
        #expect(RankFileError.Code.rankCountMismatch.rawValue == "rank_count_mismatch")
        let unavailable = QuotaUnavailableError(user: "u", underlying: RedisError(code: .timeout, message: "t"))
        #expect(ErrorCategory.of(unavailable) == .unavailable)
        #expect(ErrorCategory.allCases.filter(\.isTransient) == [.unavailable])
    }

    @Test("the guard decides without Redis exactly on transient errors and a server that is not ours")
    func guardDecisions() {
        #expect(QuotaGuard.meansUnavailable(LedgerError(code: .policyChanged, message: "m")))
        #expect(QuotaGuard.meansUnavailable(RedisError(code: .scriptNotLoaded, message: "m")))
        #expect(QuotaGuard.meansUnavailable(RedisError(serverReply: "OOM command not allowed")))
        #expect(QuotaGuard.meansUnavailable(RedisError(code: .authenticationFailed, message: "m")))
        #expect(QuotaGuard.meansUnavailable(RedisError(code: .protocolError, message: "m")))
        #expect(!QuotaGuard.meansUnavailable(RedisError(serverReply: "NOPERM no")))
        #expect(!QuotaGuard.meansUnavailable(LedgerError(code: .corruptData, message: "m")))
        #expect(!QuotaGuard.meansUnavailable(LedgerError(code: .newerSchema, message: "m")))
        #expect(!QuotaGuard.meansUnavailable(ValidationError(code: .invalidUserID, field: "user_id", message: "m")))
    }

    @Test("the recorder rejects bad input and corrupt data, refuses permission errors and spools the rest")
    func recorderDecisions() {
        for error: any Error in [
            ValidationError(code: .invalidTokenCount, field: "input_tokens", message: "m"),
            LedgerError(code: .overflow, message: "m"), LedgerError(code: .corruptData, message: "m"),
            LedgerError(code: .cycleRetired, message: "m"),
        ] {
            #expect(UsageRecorder.isRejection(error), "\(error)")
            #expect(!UsageRecorder.isPermissionDenied(error), "\(error)")
        }
        // Not the event's fault: kept (spooled) for an upgraded build or a retry.
        for error: any Error in [
            LedgerError(code: .newerSchema, message: "m"), LedgerError(code: .policyChanged, message: "m"),
            RedisError(code: .connectionRefused, message: "m"), RedisError(serverReply: "WRONGTYPE x"),
        ] {
            #expect(!UsageRecorder.isRejection(error), "\(error)")
            #expect(!UsageRecorder.isPermissionDenied(error), "\(error)")
        }
        #expect(UsageRecorder.isPermissionDenied(RedisError(serverReply: "NOPERM no")))
        #expect(UsageRecorder.isPermissionDenied(RedisError(code: .authenticationFailed, message: "m")))
    }
}

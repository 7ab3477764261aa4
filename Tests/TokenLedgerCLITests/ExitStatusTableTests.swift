import BytePairEncoding
import RedisClient
import Testing
import TokenLedger

@testable import tokenledger

/// The CLI's one table from error categories to the contract's exit statuses.
@Suite("Exit status table")
struct ExitStatusTableTests {
    @Test("every category has the contract's exit status")
    func table() {
        let expected: [ErrorCategory: Int32] = [
            .quotaDenied: 1, .misuse: 64, .badInput: 65, .corruptData: 65, .incompatibleData: 65,
            .unavailable: 69, .internal: 70, .permissionDenied: 77,
        ]
        #expect(Set(expected.keys) == Set(ErrorCategory.allCases))
        for category in ErrorCategory.allCases {
            #expect(ExitStatus(category).rawValue == expected[category], "\(category)")
        }
    }

    @Test("every code of every error type exits with its category's status")
    func codes() {
        var statuses: [String: Int32] = [:]
        for code in RedisError.Code.allCases {
            statuses["redis.\(code)"] = exitStatus(for: RedisError(code: code, message: "m")).rawValue
        }
        for code in LedgerError.Code.allCases {
            statuses["ledger.\(code)"] = exitStatus(for: LedgerError(code: code, message: "m")).rawValue
        }
        #expect(statuses["redis.connection_refused"] == 69 && statuses["redis.script_not_loaded"] == 69)
        #expect(statuses["redis.authentication_failed"] == 77 && statuses["redis.invalid_configuration"] == 64)
        #expect(statuses["redis.protocol_error"] == 70 && statuses["redis.server"] == 70)
        #expect(statuses["ledger.corrupt_data"] == 65 && statuses["ledger.newer_schema"] == 65)
        #expect(statuses["ledger.overflow"] == 65 && statuses["ledger.cycle_retired"] == 65)
        #expect(statuses["ledger.cycle_folded"] == 65)
        #expect(statuses["ledger.namespace_mismatch"] == 64 && statuses["ledger.instant_in_future"] == 64)
        #expect(statuses["ledger.busy"] == 69 && statuses["ledger.policy_changed"] == 69)
        #expect(statuses["ledger.missing_script"] == 70 && statuses["ledger.unexpected_reply"] == 70)
        #expect(exitStatus(for: RedisError(serverReply: "NOPERM no")) == .permissionDenied)
        #expect(exitStatus(for: RedisError(serverReply: "READONLY replica")) == .unavailable)
        #expect(exitStatus(for: ValidationError(code: .invalidUserID, field: "user_id", message: "m")) == .dataError)
        #expect(exitStatus(for: ExtractionError(code: .noUsage, path: "$", message: "$: m")) == .dataError)
        #expect(exitStatus(for: SpoolError(code: .full, message: "m")) == .internalError)
        #expect(exitStatus(for: CancellationError()) == .internalError)
        #expect(cliMessage(for: SpoolError(code: .io, message: "m")) == "internal error: io: m")
        #expect(
            cliMessage(for: LedgerError(code: .corruptData, message: "stored value is corrupt"))
                == "stored value is corrupt")
    }
}

import BytePairEncoding
import ErrorCodes
import Foundation
import RedisClient
import Testing

@testable import TokenLedger

/// The shared pieces of the result and error types: every error type's `Code` is a
/// ``ClosedErrorCode`` (closed, snake_case, JSON as a plain string), and ``ExplicitNull`` writes an
/// unset field as `null`. No server needed.
@Suite("Closed error codes and explicit nulls")
struct ClosedErrorCodeTests {
    /// Checks one code type: names unique and snake_case, and each code round-trips through its name
    /// and through JSON (as a plain string).
    static func check<Code: ClosedErrorCode>(_ type: Code.Type, count: Int) throws {
        let names = Code.allCases.map(\.rawValue)
        #expect(names.count == count, "\(type)")
        #expect(Set(names).count == names.count, "\(type): a name is listed twice")
        let snakeCase = /[a-z][a-z0-9]*(_[a-z0-9]+)*/
        for code in Code.allCases {
            #expect(code.rawValue.wholeMatch(of: snakeCase) != nil, "\(code) is not snake_case")
            #expect(code.description == code.rawValue && code.name == code.rawValue)
            #expect(Code(rawValue: code.rawValue) == code)
            let json = try JSONEncoder().encode([code])
            #expect(String(decoding: json, as: UTF8.self) == "[\"\(code.rawValue)\"]")
            #expect(try JSONDecoder().decode([Code].self, from: json) == [code])
        }
        #expect(Code(rawValue: "no_such_code") == nil)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([Code].self, from: Data(#"["no_such_code"]"#.utf8))
        }
    }

    @Test("every error type's codes are unique snake_case names that round-trip through JSON")
    func everyCodeRoundTrips() throws {
        try Self.check(RedisError.Code.self, count: 11)
        try Self.check(LedgerError.Code.self, count: 16)
        try Self.check(RankFileError.Code.self, count: 13)
        try Self.check(ExtractionError.Code.self, count: 6)
        try Self.check(ValidationError.Code.self, count: 21)
        try Self.check(SpoolError.Code.self, count: 2)
    }

    @Test("a code keeps the name it had before the shared protocol")
    func namesUnchanged() {
        #expect(RedisError.Code.connectionRefused.rawValue == "connection_refused")
        #expect(RedisError.Code.scriptNotLoaded.description == "script_not_loaded")
        #expect(LedgerError.Code.instantInFuture.rawValue == "instant_in_future")
        #expect(RankFileError.Code.badBase64.rawValue == "bad_base64")
        #expect(ExtractionError.Code.malformedJSON.name == "malformed_json")
        #expect(ValidationError.Code.invalidUTF8.rawValue == "invalid_utf8")
        #expect("\(RedisError(code: .poolTimeout, message: "m"))" == "pool_timeout: m")
    }

    @Test("an unset explicit-null field is written as null and read back from null or a missing key")
    func explicitNull() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let rollover = RolloverResult(now: "2026-03-01T00:00:00Z", dryRun: true)
        let text = String(decoding: try encoder.encode(rollover), as: UTF8.self)
        #expect(text.contains(#""retention_cutoff":null"#), "\(text)")
        #expect(try JSONDecoder().decode(RolloverResult.self, from: Data(text.utf8)) == rollover)
        var cut = rollover
        cut.retentionCutoff = try CalendarDate(year: 2026, month: 1, day: 1)
        let cutText = String(decoding: try encoder.encode(cut), as: UTF8.self)
        #expect(cutText.contains(#""retention_cutoff":"2026-01-01""#), "\(cutText)")
        #expect(try JSONDecoder().decode(RolloverResult.self, from: Data(cutText.utf8)) == cut)
        let missing = text.replacingOccurrences(of: #""retention_cutoff":null,"#, with: "")
        #expect(!missing.contains("retention_cutoff"))
        #expect(try JSONDecoder().decode(RolloverResult.self, from: Data(missing.utf8)) == rollover)

        let state = MigrationRunner.State(
            migration: MigrationRunner.Info(version: 1, name: "n", summary: "s"), status: "pending", appliedAt: nil,
            counts: [:])
        #expect(
            String(decoding: try encoder.encode(state), as: UTF8.self)
                == #"{"applied_at":null,"counts":{},"migration":{"name":"n","summary":"s","version":1},"status":"pending"}"#
        )
        let outcome = MigrationRunner.Outcome(dryRun: false, steps: [], schemaVersion: nil)
        #expect(
            String(decoding: try encoder.encode(outcome), as: UTF8.self)
                == #"{"dry_run":false,"schema_version":null,"steps":[]}"#)
        #expect(
            try JSONDecoder().decode(MigrationRunner.Outcome.self, from: Data(#"{"dry_run":true,"steps":[]}"#.utf8))
                .schemaVersion == nil)
    }
}

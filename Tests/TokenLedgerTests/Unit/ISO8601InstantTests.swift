import Foundation
import Testing

@testable import TokenLedger

@Suite("ISO 8601 instants")
struct ISO8601InstantTests {
    @Test(
        "accepted forms",
        arguments: [
            ("2026-03-08T07:30:00Z", 1_772_955_000.0),
            ("2026-03-08t07:30:00z", 1_772_955_000.0),
            ("2026-03-08T07:30Z", 1_772_955_000.0),
            ("2026-03-08T07:30:00.250Z", 1_772_955_000.25),
            ("2026-03-08T07:30:00,5Z", 1_772_955_000.5),
            ("2026-03-08T07:30:00.123456789Z", 1_772_955_000.123456789),
            ("2026-03-08T13:00:00+05:30", 1_772_955_000.0),
            ("2026-03-08T13:00:00+0530", 1_772_955_000.0),
            ("2026-03-07T23:30:00-08:00", 1_772_955_000.0),
            ("2026-03-08T08:30:00+01", 1_772_955_000.0),
            ("2026-03-08T07:30:00-00:00", 1_772_955_000.0),
            ("2026-03-08", 1_772_928_000.0),
            ("1970-01-01", 0),
            ("1969-12-31T23:59:59.5Z", -0.5),
        ])
    func accepted(text: String, seconds: Double) throws {
        let parsed = try ISO8601Instant.parse(text)
        #expect(abs(parsed.timeIntervalSince1970 - seconds) < 1e-6)
    }

    @Test(
        "refused forms",
        arguments: [
            "", "now", "2026-03-08T07:30:00", "2026-03-08 07:30:00Z", "2026-03-08T7:30:00Z", "2026-03-08T24:00:00Z",
            "2026-03-08T07:60:00Z", "2026-03-08T07:30:60Z", "2026-02-29T00:00:00Z", "2026-03-08T07:30:00.Z",
            "2026-03-08T07:30:00.1234567890Z", "2026-03-08T07:30:00+5:30", "2026-03-08T07:30:00+24:00",
            "2026-03-08T07:30:00Z ", "2026-03-08T", "1772955000", "2026-03-08T07:30:00+05:3",
            "2026-03-08T07:30:00UTC", "+2026-03-08",
        ])
    func refused(text: String) {
        #expect(throws: ValidationError.self) { try ISO8601Instant.parse(text) }
    }

    @Test("the error names the option and quotes the text")
    func errorMessage() {
        do {
            _ = try ISO8601Instant.parse("2026-03-08T07:30:00", field: "--at")
            Issue.record("accepted a local time")
        } catch {
            #expect(error.code == .invalidInstant)
            #expect(error.field == "--at")
            #expect(
                error.message.hasPrefix("--at \"2026-03-08T07:30:00\" is not an ISO 8601 instant (no time zone; add Z"))
        }
        do {
            _ = try ISO8601Instant.parse("yesterday\u{1B}[31m")
            Issue.record("accepted junk")
        } catch {
            #expect(!error.message.contains("\u{1B}"))  // control characters are escaped, not echoed
        }
    }

    @Test("format writes UTC and round-trips")
    func format() throws {
        let at = instant("2026-03-08T13:00:00.250+05:30")
        #expect(ISO8601Instant.format(at) == "2026-03-08T07:30:00Z")
        #expect(ISO8601Instant.format(at, fractionalDigits: 3) == "2026-03-08T07:30:00.250Z")
        #expect(
            ISO8601Instant.format(Date(timeIntervalSince1970: -0.5), fractionalDigits: 1) == "1969-12-31T23:59:59.5Z")
        var generator = SplitMix64(seed: 8601)
        for _ in 0..<500 {
            let seconds = Double(Int64.random(in: -2_000_000_000...4_000_000_000, using: &generator))
            let date = Date(timeIntervalSince1970: seconds)
            #expect(try ISO8601Instant.parse(ISO8601Instant.format(date)) == date)
        }
    }
}

import Foundation
import Testing

@testable import TokenLedger

@Suite("BillingCyclePolicy: validation and coding")
struct BillingCyclePolicyTests {
    @Test("anchors out of range are refused")
    func anchors() throws {
        for bad in [0, 32, -1] {
            #expect(throws: ValidationError.self) { try BillingCyclePolicy(period: .monthly(anchorDay: bad)) }
        }
        for bad in [0, 8] {
            #expect(throws: ValidationError.self) { try BillingCyclePolicy(period: .weekly(anchorWeekday: bad)) }
        }
        _ = try BillingCyclePolicy(period: .monthly(anchorDay: 31))
        _ = try BillingCyclePolicy(period: .weekly(anchorWeekday: 7))
        do {
            _ = try BillingCyclePolicy(period: .monthly(anchorDay: 32))
        } catch {
            #expect(error.code == .invalidPolicy)
            #expect(error.message == "anchor day 32 is outside 1-31 for a monthly cycle")
        }
    }

    @Test("time zones: IANA names only, and the error names the zone")
    func timeZones() throws {
        for good in [
            "UTC", "Etc/UTC", "GMT", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Calcutta", "Etc/GMT+5",
        ] {
            let policy = try BillingCyclePolicy(period: .daily, timeZone: good)
            #expect(policy.timeZoneIdentifier == good)
        }
        for bad in [
            "Mars/Olympus_Mons", "", "europe/berlin", "GMT+5", "UTC+01:00", "Europe/Berlin ", "../etc/passwd", "Z",
        ] {
            do {
                _ = try BillingCyclePolicy(period: .daily, timeZone: bad)
                Issue.record("accepted time zone \(bad)")
            } catch {
                #expect(error.code == .invalidTimeZone)
                #expect(error.field == "timezone")
                #expect(error.message.contains(String(reflecting: bad)))
            }
        }
    }

    @Test("command-line style construction")
    func fromText() throws {
        #expect(try BillingCyclePolicy(periodName: "monthly") == .default)
        #expect(
            try BillingCyclePolicy(periodName: "Monthly", anchor: "31", timeZone: "Europe/Berlin").period
                == .monthly(anchorDay: 31))
        #expect(try BillingCyclePolicy(periodName: "weekly").period == .weekly(anchorWeekday: 1))
        #expect(try BillingCyclePolicy(periodName: "weekly", anchor: "sun").period == .weekly(anchorWeekday: 7))
        #expect(try BillingCyclePolicy(periodName: "weekly", anchor: "Wednesday").period == .weekly(anchorWeekday: 3))
        #expect(try BillingCyclePolicy(periodName: "weekly", anchor: "5").period == .weekly(anchorWeekday: 5))
        #expect(try BillingCyclePolicy(periodName: "daily", timeZone: "Asia/Tokyo").period == .daily)
        for (name, anchor) in [
            ("yearly", nil), ("monthly", "0"), ("monthly", "+5"), ("monthly", "32"), ("weekly", "8"),
            ("weekly", "mo"), ("daily", "1"), ("monthly", ""),
        ] as [(String, String?)] {
            #expect(throws: ValidationError.self) { try BillingCyclePolicy(periodName: name, anchor: anchor) }
        }
    }

    @Test("JSON form is compact and stable")
    func json() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let cases: [(BillingCyclePolicy, String)] = [
            (
                makePolicy(.monthly(anchorDay: 31), "Europe/Berlin"),
                #"{"anchor":31,"period":"monthly","timezone":"Europe\/Berlin"}"#
            ),
            (makePolicy(.weekly(anchorWeekday: 1)), #"{"anchor":1,"period":"weekly","timezone":"UTC"}"#),
            (makePolicy(.daily, "Asia/Tokyo"), #"{"period":"daily","timezone":"Asia\/Tokyo"}"#),
            (.default, #"{"anchor":1,"period":"monthly","timezone":"UTC"}"#),
        ]
        for (policy, expected) in cases {
            let data = try encoder.encode(policy)
            #expect(String(decoding: data, as: UTF8.self) == expected)
            #expect(try JSONDecoder().decode(BillingCyclePolicy.self, from: data) == policy)
        }
        let minimal = try JSONDecoder().decode(BillingCyclePolicy.self, from: Data(#"{"period":"monthly"}"#.utf8))
        #expect(minimal == .default)
        for bad in [
            #"{"period":"monthly","anchor":0}"#, #"{"period":"daily","anchor":1}"#, #"{"period":"hourly"}"#,
            #"{"period":"weekly","timezone":"Nowhere/City"}"#, #"{"anchor":1}"#,
        ] {
            #expect(throws: DecodingError.self) {
                try JSONDecoder().decode(BillingCyclePolicy.self, from: Data(bad.utf8))
            }
        }
    }

    @Test("descriptions")
    func descriptions() {
        #expect(
            makePolicy(.monthly(anchorDay: 31), "Europe/Berlin").description == "monthly from day 31, Europe/Berlin")
        #expect(makePolicy(.weekly(anchorWeekday: 1)).description == "weekly from Monday, UTC")
        #expect(makePolicy(.daily).description == "daily, UTC")
        let cycle = makePolicy(.monthly(anchorDay: 31), "Europe/Berlin").cycle(containing: day("2025-02-10"))
        #expect(cycle.description == "2025-01-31..<2025-02-28 (Europe/Berlin)")
    }
}

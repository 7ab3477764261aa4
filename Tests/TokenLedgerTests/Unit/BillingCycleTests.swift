import Foundation
import Testing

@testable import TokenLedger

/// `start..<end` of the cycle containing `date` under `policy`.
private func span(_ policy: BillingCyclePolicy, _ date: String) -> String {
    let cycle = policy.cycle(containing: day(date))
    return "\(cycle.start)..<\(cycle.end)"
}

/// The starts of `count` consecutive cycles beginning with the one containing `first`.
private func starts(_ policy: BillingCyclePolicy, from first: String, count: Int) -> [String] {
    policy.cycles(from: policy.cycle(containing: day(first))).prefix(count).map(\.name)
}

@Suite("Billing cycles: calendar arithmetic")
struct BillingCycleTests {
    @Test("default policy: calendar months in UTC")
    func defaultPolicy() {
        let policy = BillingCyclePolicy.default
        #expect(policy.period == .monthly(anchorDay: 1))
        #expect(policy.timeZoneIdentifier == "UTC")
        #expect(span(policy, "2025-01-01") == "2025-01-01..<2025-02-01")
        #expect(span(policy, "2025-12-31") == "2025-12-01..<2026-01-01")
        let cycle = policy.cycle(containing: instant("2025-02-14T12:00:00Z"))
        #expect(cycle.name == "2025-02-01")
        #expect(cycle.startInstant == instant("2025-02-01T00:00:00Z"))
        #expect(cycle.endInstant == instant("2025-03-01T00:00:00Z"))
        #expect(cycle.duration == 28 * 86_400)
        #expect(cycle.dayCount == 28)
    }

    @Test("anchor 31 clamps to the month's last day (2024 leap, 2025)")
    func anchor31() {
        let policy = makePolicy(.monthly(anchorDay: 31))
        #expect(
            starts(policy, from: "2024-01-31", count: 13) == [
                "2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30", "2024-07-31",
                "2024-08-31", "2024-09-30", "2024-10-31", "2024-11-30", "2024-12-31", "2025-01-31",
            ])
        #expect(
            starts(policy, from: "2025-01-31", count: 5) == [
                "2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31",
            ])
        #expect(span(policy, "2024-02-15") == "2024-01-31..<2024-02-29")
        #expect(span(policy, "2024-02-28") == "2024-01-31..<2024-02-29")
        #expect(span(policy, "2024-02-29") == "2024-02-29..<2024-03-31")
        #expect(span(policy, "2024-03-30") == "2024-02-29..<2024-03-31")
        #expect(span(policy, "2025-02-27") == "2025-01-31..<2025-02-28")
        #expect(span(policy, "2025-02-28") == "2025-02-28..<2025-03-31")
        #expect(span(policy, "2025-04-29") == "2025-03-31..<2025-04-30")
        #expect(span(policy, "2025-04-30") == "2025-04-30..<2025-05-31")
        #expect(span(policy, "2025-01-01") == "2024-12-31..<2025-01-31")
    }

    @Test("anchors 30 and 29 in February")
    func anchors30And29() {
        let thirty = makePolicy(.monthly(anchorDay: 30))
        #expect(
            starts(thirty, from: "2024-01-30", count: 4) == ["2024-01-30", "2024-02-29", "2024-03-30", "2024-04-30"])
        #expect(
            starts(thirty, from: "2025-01-30", count: 4) == ["2025-01-30", "2025-02-28", "2025-03-30", "2025-04-30"])
        #expect(span(thirty, "2025-03-29") == "2025-02-28..<2025-03-30")
        let twentyNine = makePolicy(.monthly(anchorDay: 29))
        #expect(starts(twentyNine, from: "2024-01-29", count: 3) == ["2024-01-29", "2024-02-29", "2024-03-29"])
        #expect(starts(twentyNine, from: "2025-01-29", count: 3) == ["2025-01-29", "2025-02-28", "2025-03-29"])
        let fifteen = makePolicy(.monthly(anchorDay: 15))
        #expect(span(fifteen, "2025-01-14") == "2024-12-15..<2025-01-15")
        #expect(span(fifteen, "2025-01-15") == "2025-01-15..<2025-02-15")
    }

    @Test("weekly cycles start on the anchor weekday")
    func weekly() {
        // 2025-01-01 is a Wednesday.
        #expect(span(makePolicy(.weekly(anchorWeekday: 1)), "2025-01-01") == "2024-12-30..<2025-01-06")
        #expect(span(makePolicy(.weekly(anchorWeekday: 3)), "2025-01-01") == "2025-01-01..<2025-01-08")
        #expect(span(makePolicy(.weekly(anchorWeekday: 4)), "2025-01-01") == "2024-12-26..<2025-01-02")
        #expect(span(makePolicy(.weekly(anchorWeekday: 7)), "2025-01-01") == "2024-12-29..<2025-01-05")
        #expect(span(makePolicy(.weekly(anchorWeekday: 7)), "2025-01-04") == "2024-12-29..<2025-01-05")
        #expect(span(makePolicy(.weekly(anchorWeekday: 7)), "2025-01-05") == "2025-01-05..<2025-01-12")
        for anchor in 1...7 {
            let policy = makePolicy(.weekly(anchorWeekday: anchor))
            for cycle in policy.cycles(from: policy.cycle(containing: day("2024-02-20"))).prefix(60) {
                #expect(cycle.start.isoWeekday == anchor)
                #expect(cycle.dayCount == 7)
            }
        }
    }

    @Test("daily cycles")
    func daily() {
        let policy = makePolicy(.daily)
        #expect(span(policy, "2024-02-29") == "2024-02-29..<2024-03-01")
        #expect(
            starts(policy, from: "2024-12-30", count: 4) == ["2024-12-30", "2024-12-31", "2025-01-01", "2025-01-02"])
        let cycle = policy.cycle(containing: instant("2025-06-01T23:59:59.999Z"))
        #expect(cycle.name == "2025-06-01")
        #expect(!cycle.contains(instant("2025-06-02T00:00:00Z")))
        #expect(cycle.contains(instant("2025-06-01T00:00:00Z")))
    }

    @Test("an explicit start wins and ends at the first boundary after it")
    func explicitStart() {
        let monthly = BillingCyclePolicy.default
        let mid = monthly.cycle(startingOn: day("2025-01-15"))
        #expect("\(mid.start)..<\(mid.end)" == "2025-01-15..<2025-02-01")
        let onBoundary = monthly.cycle(startingOn: day("2025-02-01"))
        #expect(onBoundary == monthly.cycle(containing: day("2025-02-01")))
        #expect(onBoundary.end == day("2025-03-01"))
        let anchor31 = makePolicy(.monthly(anchorDay: 31))
        #expect(anchor31.cycle(startingOn: day("2024-02-29")).end == day("2024-03-31"))
        #expect(anchor31.cycle(startingOn: day("2024-03-31")).end == day("2024-04-30"))
        #expect(anchor31.cycle(startingOn: day("2024-03-30")).end == day("2024-03-31"))
        let weekly = makePolicy(.weekly(anchorWeekday: 1))
        #expect(weekly.cycle(startingOn: day("2025-01-01")).end == day("2025-01-06"))
        #expect(weekly.cycle(startingOn: day("2025-01-06")).end == day("2025-01-13"))
        #expect(makePolicy(.daily).cycle(startingOn: day("2025-01-01")).end == day("2025-01-02"))
        // Walking on from an explicit cycle joins the regular schedule.
        #expect(monthly.cycle(after: mid).name == "2025-02-01")
        // Walking back from an explicit cycle gives the ordinary cycle around the day before it (overlapping).
        #expect(monthly.cycle(before: mid).name == "2025-01-01")
        #expect(monthly.cycle(before: monthly.cycle(containing: day("2025-01-01"))).name == "2024-12-01")
        #expect(monthly.isBoundary(day("2025-02-01")))
        #expect(!monthly.isBoundary(day("2025-01-15")))
    }

    @Test(
        "before and after are inverse, consecutive cycles tile time",
        arguments: [
            BillingCyclePolicy.Period.monthly(anchorDay: 1), .monthly(anchorDay: 28), .monthly(anchorDay: 29),
            .monthly(anchorDay: 30), .monthly(anchorDay: 31), .weekly(anchorWeekday: 1), .weekly(anchorWeekday: 7),
            .daily,
        ])
    func tiling(period: BillingCyclePolicy.Period) {
        for zone in ["UTC", "Europe/Berlin", "America/New_York"] {
            let policy = makePolicy(period, zone)
            var cycle = policy.cycle(containing: day("2023-12-20"))
            while cycle.start < day("2026-01-10") {
                let next = policy.cycle(after: cycle)
                #expect(next.start == cycle.end)
                #expect(next.startInstant == cycle.endInstant)
                #expect(policy.cycle(before: next) == cycle)
                #expect(policy.isBoundary(cycle.start))
                #expect(cycle.start < cycle.end)
                #expect(policy.cycle(containing: cycle.startInstant) == cycle)
                #expect(policy.cycle(containing: cycle.endInstant.addingTimeInterval(-0.001)) == cycle)
                cycle = next
            }
        }
    }

    @Test("property: the cycle containing a random instant contains it")
    func randomInstants() {
        var generator = SplitMix64(seed: 0x70CE_11ED)
        let zones = [
            "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Santiago",
            "Asia/Beirut", "Pacific/Apia",
        ]
        for _ in 0..<3000 {
            let period: BillingCyclePolicy.Period
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: period = .monthly(anchorDay: Int.random(in: 1...31, using: &generator))
            case 1: period = .weekly(anchorWeekday: Int.random(in: 1...7, using: &generator))
            default: period = .daily
            }
            let policy = makePolicy(period, zones.randomElement(using: &generator)!)
            let at = Date(timeIntervalSince1970: Double.random(in: 0...2_000_000_000, using: &generator))
            let cycle = policy.cycle(containing: at)
            #expect(cycle.contains(at), "\(policy) \(at) \(cycle)")
            #expect(cycle.contains(CalendarDate(containing: at, in: policy.timeZone)), "\(policy) \(at) \(cycle)")
            #expect(policy.isBoundary(cycle.start))
            #expect(policy.cycle(after: cycle).start == cycle.end)
        }
    }
}

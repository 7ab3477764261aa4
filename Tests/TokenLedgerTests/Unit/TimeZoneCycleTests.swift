import Foundation
import Testing

@testable import TokenLedger

@Suite("Billing cycles: time zones and DST")
struct TimeZoneCycleTests {
    @Test("Europe/Berlin daily cycles on the last Sundays of March (23 h) and October (25 h) 2025")
    func berlinDaily() {
        let policy = makePolicy(.daily, "Europe/Berlin")
        let spring = policy.cycle(containing: day("2025-03-30"))
        #expect(spring.startInstant == instant("2025-03-29T23:00:00Z"))  // CET, +01:00
        #expect(spring.endInstant == instant("2025-03-30T22:00:00Z"))  // CEST, +02:00
        #expect(spring.duration == 23 * 3600)
        let autumn = policy.cycle(containing: day("2025-10-26"))
        #expect(autumn.startInstant == instant("2025-10-25T22:00:00Z"))
        #expect(autumn.endInstant == instant("2025-10-26T23:00:00Z"))
        #expect(autumn.duration == 25 * 3600)
        // One second either side of local midnight.
        #expect(policy.cycle(containing: instant("2025-03-29T22:59:59Z")).name == "2025-03-29")
        #expect(policy.cycle(containing: instant("2025-03-29T23:00:00Z")).name == "2025-03-30")
        #expect(policy.cycle(containing: instant("2025-03-30T21:59:59Z")).name == "2025-03-30")
        #expect(policy.cycle(containing: instant("2025-03-30T22:00:00Z")).name == "2025-03-31")
        // Inside the repeated hour (02:00-03:00 local happens twice on 2025-10-26): same day.
        #expect(policy.cycle(containing: instant("2025-10-26T00:30:00Z")).name == "2025-10-26")
        #expect(policy.cycle(containing: instant("2025-10-26T01:30:00Z")).name == "2025-10-26")
    }

    @Test("Europe/Berlin monthly cycles across both DST changes")
    func berlinMonthly() {
        let policy = makePolicy(.monthly(anchorDay: 1), "Europe/Berlin")
        let march = policy.cycle(containing: instant("2025-03-15T12:00:00Z"))
        #expect(march.name == "2025-03-01")
        #expect(march.startInstant == instant("2025-02-28T23:00:00Z"))
        #expect(march.endInstant == instant("2025-03-31T22:00:00Z"))
        #expect(march.duration == 31 * 86_400 - 3600)
        #expect(policy.cycle(containing: instant("2025-03-31T21:59:59Z")).name == "2025-03-01")
        #expect(policy.cycle(containing: instant("2025-03-31T22:00:00Z")).name == "2025-04-01")
        let october = policy.cycle(containing: day("2025-10-10"))
        #expect(october.startInstant == instant("2025-09-30T22:00:00Z"))
        #expect(october.endInstant == instant("2025-10-31T23:00:00Z"))
        #expect(october.duration == 31 * 86_400 + 3600)
        #expect(policy.cycle(containing: instant("2025-10-31T22:59:59.999Z")).name == "2025-10-01")
        #expect(policy.cycle(containing: instant("2025-10-31T23:00:00Z")).name == "2025-11-01")
        // The UTC default puts the same instant in the previous cycle.
        #expect(BillingCyclePolicy.default.cycle(containing: instant("2025-03-31T22:00:00Z")).name == "2025-03-01")
    }

    @Test("America/New_York: spring-forward day is 23 h, fall-back day 25 h (2026)")
    func newYork() {
        let policy = makePolicy(.daily, "America/New_York")
        let spring = policy.cycle(containing: day("2026-03-08"))
        #expect(spring.startInstant == instant("2026-03-08T05:00:00Z"))  // EST, -05:00
        #expect(spring.endInstant == instant("2026-03-09T04:00:00Z"))  // EDT, -04:00
        #expect(spring.duration == 23 * 3600)
        #expect(policy.cycle(containing: instant("2026-03-08T07:30:00Z")).name == "2026-03-08")
        #expect(policy.cycle(containing: instant("2026-03-09T03:59:59Z")).name == "2026-03-08")
        #expect(policy.cycle(containing: instant("2026-03-09T04:00:00Z")).name == "2026-03-09")
        let autumn = policy.cycle(containing: day("2026-11-01"))
        #expect(autumn.startInstant == instant("2026-11-01T04:00:00Z"))
        #expect(autumn.endInstant == instant("2026-11-02T05:00:00Z"))
        #expect(autumn.duration == 25 * 3600)
        let weekly = makePolicy(.weekly(anchorWeekday: 7), "America/New_York")
        let week = weekly.cycle(containing: instant("2026-03-10T12:00:00Z"))
        #expect(week.name == "2026-03-08")
        #expect(week.startInstant == instant("2026-03-08T05:00:00Z"))
        #expect(week.duration == 7 * 86_400 - 3600)
    }

    @Test("midnight that does not exist: the day starts at the first instant it shows")
    func missingMidnight() {
        // America/Santiago 2022-09-11: 00:00 -04 jumped to 01:00 -03.
        let santiago = makePolicy(.daily, "America/Santiago")
        let chile = santiago.cycle(containing: day("2022-09-11"))
        #expect(chile.startInstant == instant("2022-09-11T04:00:00Z"))
        #expect(chile.endInstant == instant("2022-09-12T03:00:00Z"))
        #expect(santiago.cycle(containing: day("2022-09-10")).endInstant == chile.startInstant)
        #expect(santiago.cycle(containing: instant("2022-09-11T03:59:59Z")).name == "2022-09-10")
        #expect(santiago.cycle(containing: instant("2022-09-11T04:00:00Z")).name == "2022-09-11")
        // Asia/Beirut 2022-03-27: 00:00 +02 jumped to 01:00 +03.
        let beirut = makePolicy(.monthly(anchorDay: 27), "Asia/Beirut")
        let lebanon = beirut.cycle(containing: day("2022-03-27"))
        #expect(lebanon.name == "2022-03-27")
        #expect(lebanon.startInstant == instant("2022-03-26T22:00:00Z"))
        #expect(beirut.cycle(containing: instant("2022-03-26T21:59:59Z")).name == "2022-02-27")
        // America/Havana 2023-03-12: 00:00 -05 jumped to 01:00 -04.
        let havana = makePolicy(.daily, "America/Havana")
        #expect(havana.cycle(containing: day("2023-03-12")).startInstant == instant("2023-03-12T05:00:00Z"))
    }

    @Test("midnight that happens twice: the day starts at the first one")
    func repeatedMidnight() {
        // America/Havana 2023-11-05: 01:00 -04 fell back to 00:00 -05, so 00:00 came twice.
        let havana = makePolicy(.daily, "America/Havana")
        let cycle = havana.cycle(containing: day("2023-11-05"))
        #expect(cycle.startInstant == instant("2023-11-05T04:00:00Z"))
        #expect(cycle.endInstant == instant("2023-11-06T05:00:00Z"))
        #expect(cycle.duration == 25 * 3600)
        #expect(havana.cycle(containing: instant("2023-11-05T03:59:59Z")).name == "2023-11-04")
        #expect(havana.cycle(containing: instant("2023-11-05T04:30:00Z")).name == "2023-11-05")
        #expect(havana.cycle(containing: instant("2023-11-05T05:30:00Z")).name == "2023-11-05")
    }

    @Test("a skipped day gives an empty cycle that no instant falls in")
    func skippedDay() {
        // Pacific/Apia skipped 2011-12-30 when it moved across the date line (-10 to +14).
        let apia = makePolicy(.daily, "Pacific/Apia")
        let skipped = apia.cycle(containing: day("2011-12-30"))
        #expect(skipped.startInstant == instant("2011-12-30T10:00:00Z"))
        #expect(skipped.duration == 0)
        #expect(apia.cycle(containing: instant("2011-12-30T09:59:59Z")).name == "2011-12-29")
        #expect(apia.cycle(containing: instant("2011-12-30T10:00:00Z")).name == "2011-12-31")
        #expect(apia.cycle(after: apia.cycle(containing: day("2011-12-29"))) == skipped)
    }

    @Test("half-hour and 45-minute offsets")
    func oddOffsets() {
        let kolkata = makePolicy(.daily, "Asia/Kolkata")
        #expect(kolkata.cycle(containing: day("2025-01-01")).startInstant == instant("2024-12-31T18:30:00Z"))
        let kathmandu = makePolicy(.monthly(anchorDay: 1), "Asia/Kathmandu")
        #expect(kathmandu.cycle(containing: day("2025-01-10")).startInstant == instant("2024-12-31T18:15:00Z"))
        let lordHowe = makePolicy(.daily, "Australia/Lord_Howe")  // DST shifts by 30 minutes
        #expect(lordHowe.cycle(containing: day("2025-04-06")).duration == 24 * 3600 + 1800)
    }

    @Test("agrees with Calendar.startOfDay on every offset-change day of every zone, 2000-2025")
    func oracle() {
        var checked = 0
        for identifier in TimeZone.knownTimeZoneIdentifiers {
            guard let zone = TimeZone(identifier: identifier) else { continue }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            func offset(_ date: CalendarDate, _ hours: Double) -> Int {
                zone.secondsFromGMT(
                    for: Date(timeIntervalSince1970: Double(date.daysSince1970) * 86_400 + hours * 3600))
            }
            var week = day("2000-01-03")
            while week < day("2026-01-01") {
                // Look at single days only in weeks whose offset changes.
                if offset(week, -30) != offset(week.adding(days: 7), 30) {
                    for date in (0..<7).map(week.adding(days:)) where offset(date, -30) != offset(date, 30) {
                        checked += 1
                        let first = date.firstInstant(in: zone)
                        #expect(
                            calendar.startOfDay(for: first.addingTimeInterval(3 * 3600)) == first,
                            "\(identifier) \(date)")
                        // A skipped day (Pacific/Apia 2011-12-30) reads as the next day from its first instant.
                        #expect(CalendarDate(containing: first, in: zone) >= date, "\(identifier) \(date)")
                        #expect(
                            CalendarDate(containing: first.addingTimeInterval(-1), in: zone) < date,
                            "\(identifier) \(date)")
                    }
                }
                week = week.adding(days: 7)
            }
        }
        #expect(checked > 10_000)
    }
}

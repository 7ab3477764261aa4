import Foundation
import Testing

@testable import TokenLedger

@Suite("CalendarDate")
struct CalendarDateTests {
    @Test(
        "parses strict YYYY-MM-DD", arguments: ["2024-02-29", "2025-12-31", "0001-01-01", "9999-12-31", "1970-01-01"])
    func parsesValid(text: String) throws {
        let date = try CalendarDate(parsing: text)
        #expect(date.description == text)
    }

    @Test(
        "refuses malformed or unreal dates",
        arguments: [
            "2025-02-29", "2023-02-29", "1900-02-29", "2025-04-31", "2025-13-01", "2025-00-10", "2025-01-00",
            "0000-01-01", "2025-1-01", "2025-01-1", "25-01-01", "2025/01/01", " 2025-01-01", "2025-01-01 ",
            "2025-01-01T00:00:00Z", "", "２０２５-01-01", "+2025-01-01", "2025-0a-01",
        ])
    func refusesInvalid(text: String) {
        #expect(throws: ValidationError.self) { try CalendarDate(parsing: text) }
    }

    @Test("2000 is a leap year, 1900 and 2100 are not")
    func leapYears() throws {
        _ = try CalendarDate(parsing: "2000-02-29")
        #expect(throws: ValidationError.self) { try CalendarDate(parsing: "2100-02-29") }
        #expect(CalendarDate.daysInMonth(year: 2024, month: 2) == 29)
        #expect(CalendarDate.daysInMonth(year: 2025, month: 2) == 28)
    }

    @Test("error message names the field and the text")
    func errorMessage() {
        do {
            _ = try CalendarDate(parsing: "2025-02-29", field: "cycle")
            Issue.record("accepted 2025-02-29")
        } catch {
            #expect(error.code == .invalidDate)
            #expect(error.field == "cycle")
            #expect(error.message == "cycle \"2025-02-29\" is not a real date: day 29 is outside 01-28 for 2025-02")
        }
        #expect(throws: ValidationError.self) { try CalendarDate(year: 2025, month: 2, day: 29) }
    }

    @Test("day numbers round-trip and weekdays are ISO")
    func dayNumbers() throws {
        #expect(day("1970-01-01").daysSince1970 == 0)
        #expect(day("1969-12-31").daysSince1970 == -1)
        #expect(day("2000-03-01").daysSince1970 == 11_017)
        #expect(day("1970-01-01").isoWeekday == 4)  // Thursday
        #expect(day("2025-01-01").isoWeekday == 3)  // Wednesday
        #expect(day("2024-12-29").isoWeekday == 7)  // Sunday
        #expect(day("2024-12-30").isoWeekday == 1)  // Monday
        #expect(day("0001-01-01").isoWeekday == 1)  // Monday (proleptic Gregorian)
        var date = day("1899-12-25")
        for _ in 0..<(366 * 5) {
            let next = date.adding(days: 1)
            #expect(CalendarDate(daysSince1970: date.daysSince1970) == date)
            #expect(next.daysSince1970 == date.daysSince1970 + 1)
            #expect(next > date)
            #expect(next.isoWeekday == date.isoWeekday % 7 + 1)
            date = next
        }
        #expect(day("2024-02-28").adding(days: 1) == day("2024-02-29"))
        #expect(day("2025-02-28").adding(days: 1) == day("2025-03-01"))
        #expect(day("2025-01-01").adding(days: -1) == day("2024-12-31"))
    }

    @Test("Codable as a bare string, strictly")
    func codable() throws {
        let data = try JSONEncoder().encode([day("2024-02-29")])
        #expect(String(decoding: data, as: UTF8.self) == "[\"2024-02-29\"]")
        #expect(try JSONDecoder().decode([CalendarDate].self, from: data) == [day("2024-02-29")])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([CalendarDate].self, from: Data("[\"2025-02-29\"]".utf8))
        }
    }

    @Test("local date of an instant follows the zone's wall clock")
    func localDate() throws {
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        #expect(CalendarDate(containing: instant("2025-03-31T21:59:59Z"), in: berlin) == day("2025-03-31"))
        #expect(CalendarDate(containing: instant("2025-03-31T22:00:00Z"), in: berlin) == day("2025-04-01"))
        #expect(CalendarDate(containing: instant("1969-12-31T23:59:59.5Z"), in: .gmt) == day("1969-12-31"))
        // Far-away instants are clamped, not trapped on.
        #expect(CalendarDate(containing: .distantFuture, in: berlin) == day("4001-01-01"))
        #expect(CalendarDate(containing: Date(timeIntervalSince1970: 1e18), in: berlin) == day("9999-12-31"))
        #expect(CalendarDate(containing: Date(timeIntervalSince1970: .infinity), in: .gmt) == day("9999-12-31"))
        #expect(CalendarDate(containing: Date(timeIntervalSince1970: -.infinity), in: .gmt) == day("0001-01-01"))
        #expect(CalendarDate(containing: Date(timeIntervalSince1970: .nan), in: .gmt) == day("1970-01-01"))
    }
}

@Test("day-number range constants")
func dayRangeConstants() {
    #expect(CalendarDate(daysSince1970: CalendarDate.minimumDay) == day("0001-01-01"))
    #expect(CalendarDate(daysSince1970: CalendarDate.maximumDay) == day("9999-12-31"))
}

import Foundation

/// A day of the proleptic Gregorian calendar with no time and no time zone, written `YYYY-MM-DD`.
///
/// Cycles are named by their start date in the cycle's time zone; this type is that name.
/// It is `Codable` as the string `"YYYY-MM-DD"` and orders chronologically.
///
/// Arithmetic is pure integer math on day numbers (no `Calendar`), so it is fast, deterministic
/// and never depends on the host's locale. Conversions to and from instants need a time zone:
/// ``init(containing:in:)`` and ``firstInstant(in:)``.
public struct CalendarDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The year, 1–9999 for parsed dates.
    public let year: Int
    /// The month, 1 (January) – 12 (December).
    public let month: Int
    /// The day of the month, 1 – 28…31.
    public let day: Int

    /// Creates a date after checking that it exists (e.g. 2025-02-29 does not).
    /// - Parameters:
    ///   - year: The year, 1–9999.
    ///   - month: The month, 1–12.
    ///   - day: The day of the month, 1 to the month's length.
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidDate``.
    public init(year: Int, month: Int, day: Int) throws(ValidationError) {
        if let reason = Self.problem(year: year, month: month, day: day) {
            throw ValidationError(code: .invalidDate, field: "date", message: "date is not a real date: \(reason)")
        }
        self.init(uncheckedYear: year, month: month, day: day)
    }

    /// Parses a strict `YYYY-MM-DD` date: four-digit year, zero-padded two-digit month and day,
    /// ASCII `-` separators, nothing before or after, and a day that exists in that month.
    /// - Parameters:
    ///   - text: The text, e.g. `"2024-02-29"`.
    ///   - field: The field name used in the error (default `"date"`).
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidDate``; the message
    ///   quotes the text and says what was wrong.
    public init(parsing text: String, field: String = "date") throws(ValidationError) {
        let label = ValidationError.label(field)
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let year = Self.digits(bytes[0..<4]), let month = Self.digits(bytes[5..<7]),
            let day = Self.digits(bytes[8..<10])
        else {
            throw ValidationError(
                code: .invalidDate, field: field,
                message: "\(label) \(ValidationError.quoted(text)) is not a date in the form YYYY-MM-DD")
        }
        if let reason = Self.problem(year: year, month: month, day: day) {
            throw ValidationError(
                code: .invalidDate, field: field,
                message: "\(label) \(ValidationError.quoted(text)) is not a real date: \(reason)")
        }
        self.init(uncheckedYear: year, month: month, day: day)
    }

    /// Creates the date that is `daysSince1970` days after 1970-01-01 (negative: before).
    /// - Parameter daysSince1970: The day number; 0 is 1970-01-01. Clamped to ±2^32 days (about
    ///   11.7 million years), so no day number can make the calendar arithmetic overflow.
    public init(daysSince1970: Int) {
        let days = min(max(daysSince1970, -Self.dayNumberBound), Self.dayNumberBound)
        // Howard Hinnant's civil_from_days, exact for the whole proleptic Gregorian calendar.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(uncheckedYear: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d)
    }

    /// The local date of `instant` in `timeZone`: the wall-clock date shown there at that instant.
    ///
    /// Instants whose local date is before 0001-01-01 or after 9999-12-31 are clamped to those days
    /// (NaN counts as 1970-01-01T00:00:00Z).
    /// - Parameters:
    ///   - instant: The instant.
    ///   - timeZone: The time zone whose wall clock is read.
    public init(containing instant: Date, in timeZone: TimeZone) {
        let seconds = ZonedTime.clampedSeconds(instant)
        let local = seconds + Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds))))
        let days = Int(ZonedTime.floorDiv(local, 86_400))
        self.init(daysSince1970: min(max(days, Self.minimumDay), Self.maximumDay))
    }

    /// The largest day number magnitude ``init(daysSince1970:)`` keeps (2^32).
    static let dayNumberBound = 1 << 32

    /// The day number of 0001-01-01.
    static let minimumDay = -719_162
    /// The day number of 9999-12-31.
    static let maximumDay = 2_932_896

    init(uncheckedYear year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The number of days from 1970-01-01 to this date (negative before it).
    public var daysSince1970: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The ISO weekday: 1 = Monday … 7 = Sunday.
    public var isoWeekday: Int {
        // 1970-01-01 was a Thursday (4).
        let r = (daysSince1970 % 7 + 7) % 7
        return (r + 3) % 7 + 1
    }

    /// The date `days` days later (earlier when negative).
    /// - Parameter days: The number of days to add.
    /// - Returns: The new date.
    public func adding(days: Int) -> CalendarDate {
        CalendarDate(daysSince1970: Validation.saturatingSum(daysSince1970, days))
    }

    /// The first instant of this date in `timeZone`: local midnight, or — on a day whose midnight
    /// does not exist because the clock jumps forward over it (e.g. America/Santiago 2022-09-11,
    /// Asia/Beirut on DST days) — the first instant the wall clock shows this date. When midnight
    /// occurs twice (a fall-back to 00:00, e.g. America/Havana 2023-11-05), it is the earlier one.
    /// A day that a zone skipped entirely (Pacific/Apia 2011-12-30) gets the first instant of the
    /// next day, so consecutive days never overlap.
    /// - Parameter timeZone: The time zone.
    /// - Returns: The instant.
    public func firstInstant(in timeZone: TimeZone) -> Date {
        Date(timeIntervalSince1970: Double(ZonedTime.firstSecond(ofDay: daysSince1970, in: timeZone)))
    }

    /// The number of days in a month.
    /// - Parameters:
    ///   - year: The year (for February).
    ///   - month: The month, 1–12.
    /// - Returns: 28–31.
    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Whether `year` is a Gregorian leap year (divisible by 4, except centuries not divisible by 400).
    /// - Parameter year: The year.
    /// - Returns: `true` for leap years.
    public static func isLeapYear(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    /// `YYYY-MM-DD`, zero-padded.
    public var description: String {
        Self.pad(year, 4) + "-" + Self.pad(month, 2) + "-" + Self.pad(day, 2)
    }

    /// Orders dates chronologically.
    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// Decodes the string form `"YYYY-MM-DD"` (strictly, as ``init(parsing:field:)``).
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` carrying the validation message.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    /// Encodes the string form `"YYYY-MM-DD"`.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    // MARK: - Helpers

    static func problem(year: Int, month: Int, day: Int) -> String? {
        if year < 1 || year > 9999 { return "year \(year) is outside 0001-9999" }
        if month < 1 || month > 12 { return "month \(month) is outside 01-12" }
        let length = daysInMonth(year: year, month: month)
        if day < 1 || day > length {
            return "day \(day) is outside 01-\(length) for \(pad(year, 4))-\(pad(month, 2))"
        }
        return nil
    }

    static func digits(_ bytes: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in bytes {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value.magnitude)
        let sign = value < 0 ? "-" : ""
        return sign + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

import Foundation

/// Strict ISO 8601 instants for the CLI's `--at` and `--now` options, and for output.
///
/// Accepted forms (the date part always `YYYY-MM-DD`, a real date):
/// - `2026-03-08` — a bare date means midnight UTC of that date;
/// - `2026-03-08T07:30Z`, `2026-03-08T07:30:00Z` (`T`/`Z` may be lowercase);
/// - fractional seconds with `.` or `,` and 1–9 digits: `2026-03-08T07:30:00.250Z`;
/// - UTC offsets instead of `Z`: `+05:30`, `-0800`, `+01`.
///
/// A date and time without `Z` or an offset is refused (a local time names no instant), as are
/// hours above 23, leap seconds (`:60`) and anything else, with a message that quotes the text.
public enum ISO8601Instant {
    /// Parses an instant.
    /// - Parameters:
    ///   - text: The text, e.g. `"2026-03-08T07:30:00Z"`.
    ///   - field: The name used in the error, e.g. `"--at"` (default `"instant"`).
    /// - Returns: The instant.
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidInstant``; the message
    ///   quotes the bad text, says what was wrong, and shows accepted examples.
    public static func parse(_ text: String, field: String = "instant") throws(ValidationError) -> Date {
        var scanner = Scanner(bytes: Array(text.utf8))
        do {
            return try scanner.instant()
        } catch {
            throw ValidationError(
                code: .invalidInstant, field: field,
                message: "\(ValidationError.label(field)) \(ValidationError.quoted(text)) is not an ISO 8601 instant "
                    + "(\(error.reason)); expected e.g. 2026-03-08T07:30:00Z, 2026-03-08T07:30:00.250+05:30 "
                    + "or 2026-03-08")
        }
    }

    /// Formats an instant in UTC as `YYYY-MM-DDTHH:MM:SSZ`, e.g. `2026-03-08T07:30:00Z`.
    /// - Parameters:
    ///   - instant: The instant (clamped to years 0001–9999).
    ///   - fractionalDigits: Digits of fractional seconds to write, 0–9 (default 0: whole seconds,
    ///     rounded down).
    /// - Returns: The text, which ``parse(_:field:)`` reads back.
    public static func format(_ instant: Date, fractionalDigits: Int = 0) -> String {
        let seconds = ZonedTime.clampedSeconds(instant)
        let day = ZonedTime.floorDiv(seconds, 86_400)
        let secondOfDay = Int(seconds - day * 86_400)
        let date = CalendarDate(daysSince1970: Int(day))
        var text =
            "\(date)T" + CalendarDate.pad(secondOfDay / 3600, 2) + ":"
            + CalendarDate.pad(secondOfDay / 60 % 60, 2) + ":" + CalendarDate.pad(secondOfDay % 60, 2)
        let digits = min(max(fractionalDigits, 0), 9)
        if digits > 0 {
            let fraction = instant.timeIntervalSince1970 - Double(seconds)
            var scale = 1
            for _ in 0..<digits { scale *= 10 }
            let value = min(Int((fraction * Double(scale)).rounded(.down)), scale - 1)
            text += "." + CalendarDate.pad(max(value, 0), digits)
        }
        return text + "Z"
    }

    struct Failure: Error {
        var reason: String
    }

    struct Scanner {
        var bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index == bytes.count }

        mutating func take(_ ascii: Unicode.Scalar...) -> Bool {
            guard index < bytes.count, ascii.contains(where: { UInt8(ascii: $0) == bytes[index] }) else {
                return false
            }
            index += 1
            return true
        }

        mutating func expect(_ ascii: Unicode.Scalar, _ what: String) throws(Failure) {
            guard take(ascii) else { throw Failure(reason: "expected \(what) at character \(index + 1)") }
        }

        mutating func number(digits count: Int, _ what: String) throws(Failure) -> Int {
            guard index + count <= bytes.count else { throw Failure(reason: "\(what) is missing or short") }
            var value = 0
            for byte in bytes[index..<index + count] {
                guard byte >= 0x30 && byte <= 0x39 else {
                    throw Failure(reason: "\(what) must be \(count) digits")
                }
                value = value * 10 + Int(byte - 0x30)
            }
            index += count
            return value
        }

        mutating func instant() throws(Failure) -> Date {
            let year = try number(digits: 4, "the year")
            try expect("-", "'-' after the year")
            let month = try number(digits: 2, "the month")
            try expect("-", "'-' after the month")
            let day = try number(digits: 2, "the day")
            if let problem = CalendarDate.problem(year: year, month: month, day: day) {
                throw Failure(reason: problem)
            }
            let date = CalendarDate(uncheckedYear: year, month: month, day: day)
            if atEnd {
                return Date(timeIntervalSince1970: Double(date.daysSince1970) * 86_400)
            }
            guard take("T", "t") else { throw Failure(reason: "expected 'T' before the time") }
            let hour = try number(digits: 2, "the hour")
            try expect(":", "':' after the hour")
            let minute = try number(digits: 2, "the minutes")
            var second = 0
            var fraction = 0.0
            if take(":") {
                second = try number(digits: 2, "the seconds")
                if take(".", ",") {
                    let start = index
                    var scale = 1.0
                    var value = 0.0
                    while index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39 {
                        value = value * 10 + Double(bytes[index] - 0x30)
                        scale *= 10
                        index += 1
                    }
                    let count = index - start
                    guard (1...9).contains(count) else {
                        throw Failure(reason: "fractional seconds need 1 to 9 digits")
                    }
                    fraction = value / scale
                }
            }
            guard hour <= 23 else { throw Failure(reason: "hour \(hour) is outside 00-23") }
            guard minute <= 59 else { throw Failure(reason: "minute \(minute) is outside 00-59") }
            guard second <= 59 else { throw Failure(reason: "second \(second) is outside 00-59") }
            let offset = try zoneOffset()
            guard atEnd else { throw Failure(reason: "unexpected text at character \(index + 1)") }
            let local = Int64(date.daysSince1970) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
            return Date(timeIntervalSince1970: Double(local - Int64(offset)) + fraction)
        }

        /// `Z`, `±HH`, `±HHMM` or `±HH:MM`, in seconds east of UTC.
        mutating func zoneOffset() throws(Failure) -> Int {
            if take("Z", "z") { return 0 }
            guard index < bytes.count else {
                throw Failure(reason: "no time zone; add Z or an offset such as +05:30")
            }
            let sign: Int
            if take("+") {
                sign = 1
            } else if take("-") {
                sign = -1
            } else {
                throw Failure(reason: "expected Z or an offset such as +05:30 at character \(index + 1)")
            }
            let hours = try number(digits: 2, "the offset hours")
            var minutes = 0
            if !atEnd {
                _ = take(":")
                minutes = try number(digits: 2, "the offset minutes")
            }
            guard hours <= 23, minutes <= 59 else {
                throw Failure(reason: "offset \(hours):\(minutes) is out of range")
            }
            return sign * (hours * 3600 + minutes * 60)
        }
    }
}

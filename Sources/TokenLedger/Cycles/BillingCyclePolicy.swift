import Foundation

/// How a user's usage is cut into billing cycles: a period with an anchor, in an IANA time zone.
///
/// Every cycle starts on a *boundary* day, at the first instant of that day in ``timeZone``:
/// - ``Period/monthly(anchorDay:)``: day `anchorDay` of every month, clamped to the month's last
///   day when the month is shorter (anchor 31 gives 01-31, 02-28 or 02-29, 03-31, 04-30, …);
/// - ``Period/weekly(anchorWeekday:)``: every week on that ISO weekday (1 = Monday … 7 = Sunday);
/// - ``Period/daily``: every day.
///
/// New cycles begin by themselves: ``cycle(containing:)-(Date)`` is pure arithmetic, so counting is
/// correct without any job running at the boundary.
///
/// The JSON form is compact and stable (encode with `.sortedKeys` for byte-stable output):
/// `{"anchor":31,"period":"monthly","timezone":"Europe/Berlin"}`,
/// `{"anchor":1,"period":"weekly","timezone":"UTC"}`, `{"period":"daily","timezone":"UTC"}`.
/// Decoding defaults a missing `anchor` to 1 and a missing `timezone` to `UTC`, and validates.
public struct BillingCyclePolicy: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The length of a cycle and the day it starts on.
    public enum Period: Sendable, Hashable {
        /// Monthly cycles starting on day `anchorDay` (1–31) of each month; a day the month does not
        /// have clamps to the month's last day.
        case monthly(anchorDay: Int)
        /// Weekly cycles starting on `anchorWeekday`, ISO numbering: 1 = Monday … 7 = Sunday.
        case weekly(anchorWeekday: Int)
        /// Daily cycles, one per local day.
        case daily

        /// `"monthly"`, `"weekly"` or `"daily"`: the name used in JSON and on the command line.
        public var name: String {
            switch self {
            case .monthly: return "monthly"
            case .weekly: return "weekly"
            case .daily: return "daily"
            }
        }

        /// The anchor day (monthly) or ISO weekday (weekly); `nil` for daily.
        public var anchor: Int? {
            switch self {
            case .monthly(let day): return day
            case .weekly(let weekday): return weekday
            case .daily: return nil
            }
        }
    }

    /// The period and its anchor.
    public let period: Period
    /// The IANA time zone identifier, as configured (e.g. `"UTC"`, `"Europe/Berlin"`).
    public let timeZoneIdentifier: String
    /// The time zone for ``timeZoneIdentifier``.
    public let timeZone: TimeZone

    /// The global default: calendar months starting on day 1, in UTC.
    public static let `default` = BillingCyclePolicy(
        uncheckedPeriod: .monthly(anchorDay: 1), timeZoneIdentifier: "UTC", timeZone: .gmt)

    /// Creates a policy after validating the anchor and the time zone.
    /// - Parameters:
    ///   - period: The period; monthly anchors must be 1–31, weekly anchors 1–7.
    ///   - identifier: An IANA time zone identifier such as `"Europe/Berlin"` (default `"UTC"`).
    ///     Offset spellings such as `"GMT+5"` are refused: they have no DST rules and no stable name.
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidPolicy`` (anchor) or
    ///   ``ValidationError/Code/invalidTimeZone`` (the message names the zone).
    public init(period: Period, timeZone identifier: String = "UTC") throws(ValidationError) {
        switch period {
        case .monthly(let day) where !(1...31).contains(day):
            throw ValidationError(
                code: .invalidPolicy, field: "anchor",
                message: "anchor day \(day) is outside 1-31 for a monthly cycle")
        case .weekly(let weekday) where !(1...7).contains(weekday):
            throw ValidationError(
                code: .invalidPolicy, field: "anchor",
                message: "anchor weekday \(weekday) is outside 1-7 (1 = Monday, 7 = Sunday) for a weekly cycle")
        default:
            break
        }
        let zone = try Self.timeZone(identifier)
        self.init(uncheckedPeriod: period, timeZoneIdentifier: identifier, timeZone: zone)
    }

    /// Creates a policy from command-line style text (`cycle set --period P --anchor-day D --timezone TZ`).
    /// - Parameters:
    ///   - periodName: `"monthly"`, `"weekly"` or `"daily"` (case-insensitive).
    ///   - anchor: For monthly, a day 1–31 (default 1). For weekly, 1–7 or an English weekday name
    ///     or its three-letter abbreviation, e.g. `"monday"`, `"Sun"` (default Monday).
    ///     Must be `nil` for daily.
    ///   - identifier: An IANA time zone identifier (default `"UTC"`).
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidPolicy`` or
    ///   ``ValidationError/Code/invalidTimeZone``.
    public init(periodName: String, anchor: String? = nil, timeZone identifier: String? = nil) throws(ValidationError) {
        let period: Period
        switch periodName.lowercased() {
        case "monthly":
            period = .monthly(
                anchorDay: try anchor.map { (text) throws(ValidationError) in
                    try Self.parseAnchorDay(text)
                } ?? 1)
        case "weekly":
            period = .weekly(
                anchorWeekday: try anchor.map { (text) throws(ValidationError) in
                    try Self.parseWeekday(text)
                } ?? 1)
        case "daily":
            if let anchor {
                throw ValidationError(
                    code: .invalidPolicy, field: "anchor",
                    message: "anchor \(ValidationError.quoted(anchor)) given for a daily cycle, which has no anchor")
            }
            period = .daily
        default:
            throw ValidationError(
                code: .invalidPolicy, field: "period",
                message: "period \(ValidationError.quoted(periodName)) is not one of monthly, weekly, daily")
        }
        try self.init(period: period, timeZone: identifier ?? "UTC")
    }

    init(uncheckedPeriod period: Period, timeZoneIdentifier: String, timeZone: TimeZone) {
        self.period = period
        self.timeZoneIdentifier = timeZoneIdentifier
        self.timeZone = timeZone
    }

    // MARK: - Cycles

    /// The cycle containing `instant`: the one with `startInstant <= instant < endInstant`.
    /// - Parameter instant: The instant, e.g. now or the `--at` option.
    /// - Returns: The cycle.
    public func cycle(containing instant: Date) -> BillingCycle {
        var cycle = cycle(containing: CalendarDate(containing: instant, in: timeZone))
        // The local day already decides; these loops only matter in zones whose clock jumps back
        // across midnight, where "the local date" and "the instants of that day" can disagree.
        var steps = 0
        while instant < cycle.startInstant && steps < 4 {
            cycle = self.cycle(before: cycle)
            steps += 1
        }
        while cycle.endInstant <= instant && steps < 8 {
            cycle = self.cycle(after: cycle)
            steps += 1
        }
        return cycle
    }

    /// The cycle containing the local day `date`.
    /// - Parameter date: A day in this policy's time zone.
    /// - Returns: The cycle whose `start <= date < end`.
    public func cycle(containing date: CalendarDate) -> BillingCycle {
        makeCycle(start: boundary(onOrBefore: date), end: boundary(after: date))
    }

    /// The cycle that starts on `start`, whether or not `start` is a boundary of this policy.
    ///
    /// An explicit start always wins (the seed's `cycle_start_date`, the CLI's `--cycle`); the cycle
    /// ends at the first boundary strictly after it. When `start` is a boundary this is the
    /// ordinary cycle; otherwise it is a shortened one.
    /// - Parameter start: The first day of the cycle.
    /// - Returns: The cycle `start ..< (first boundary after start)`.
    public func cycle(startingOn start: CalendarDate) -> BillingCycle {
        makeCycle(start: start, end: boundary(after: start))
    }

    /// The cycle that starts when `cycle` ends (at `cycle.end`), for walking forward.
    /// - Parameter cycle: A cycle of this policy.
    /// - Returns: The next cycle; its `start` is `cycle.end` and its `startInstant` is `cycle.endInstant`.
    public func cycle(after cycle: BillingCycle) -> BillingCycle {
        self.cycle(startingOn: cycle.end)
    }

    /// The cycle containing the day before `cycle.start`, for walking backward.
    ///
    /// For ordinary cycles its `end` is `cycle.start`. For a cycle with an explicit start that is not
    /// a boundary, it is the ordinary cycle around the previous day, which overlaps the explicit one.
    /// - Parameter cycle: A cycle of this policy.
    /// - Returns: The previous cycle.
    public func cycle(before cycle: BillingCycle) -> BillingCycle {
        self.cycle(containing: cycle.start.adding(days: -1))
    }

    /// The endless sequence `first`, `cycle(after: first)`, … — e.g. for rollover,
    /// `policy.cycles(from: oldest).prefix { $0.hasEnded(at: now) }` lists every ended cycle.
    /// - Parameter first: The first cycle of the sequence.
    /// - Returns: A lazy, unbounded sequence of consecutive cycles.
    public func cycles(from first: BillingCycle) -> UnfoldFirstSequence<BillingCycle> {
        sequence(first: first) { self.cycle(after: $0) }
    }

    /// Whether a cycle of this policy starts on `date` (a regular, non-explicit start).
    /// - Parameter date: A local day.
    /// - Returns: `true` when `date` is a boundary.
    public func isBoundary(_ date: CalendarDate) -> Bool {
        boundary(onOrBefore: date) == date
    }

    // MARK: - Boundaries

    /// The last boundary on or before `date`.
    func boundary(onOrBefore date: CalendarDate) -> CalendarDate {
        switch period {
        case .monthly(let anchor):
            let here = Self.monthlyBoundary(year: date.year, month: date.month, anchor: anchor)
            if here <= date { return here }
            let (year, month) = date.month == 1 ? (date.year - 1, 12) : (date.year, date.month - 1)
            return Self.monthlyBoundary(year: year, month: month, anchor: anchor)
        case .weekly(let anchor):
            return date.adding(days: -((date.isoWeekday - anchor + 7) % 7))
        case .daily:
            return date
        }
    }

    /// The first boundary strictly after `date`.
    func boundary(after date: CalendarDate) -> CalendarDate {
        switch period {
        case .monthly(let anchor):
            let here = Self.monthlyBoundary(year: date.year, month: date.month, anchor: anchor)
            if date < here { return here }
            let (year, month) = date.month == 12 ? (date.year + 1, 1) : (date.year, date.month + 1)
            return Self.monthlyBoundary(year: year, month: month, anchor: anchor)
        case .weekly:
            return boundary(onOrBefore: date).adding(days: 7)
        case .daily:
            return date.adding(days: 1)
        }
    }

    static func monthlyBoundary(year: Int, month: Int, anchor: Int) -> CalendarDate {
        CalendarDate(
            uncheckedYear: year, month: month,
            day: min(anchor, CalendarDate.daysInMonth(year: year, month: month)))
    }

    func makeCycle(start: CalendarDate, end: CalendarDate) -> BillingCycle {
        BillingCycle(start: start, end: end, timeZone: timeZone, timeZoneIdentifier: timeZoneIdentifier)
    }

    // MARK: - Parsing helpers

    /// Validates an IANA time zone identifier and returns its zone.
    /// - Parameter identifier: E.g. `"Europe/Berlin"`, `"UTC"`, `"Asia/Kolkata"`.
    /// - Returns: The zone.
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidTimeZone`` naming the zone.
    public static func timeZone(_ identifier: String) throws(ValidationError) -> TimeZone {
        let bytes = identifier.utf8
        let wellFormed =
            !bytes.isEmpty && bytes.count <= 64
            && bytes.allSatisfy { byte in
                (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                    || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: "+")
            }
        // Foundation also accepts offset spellings ("GMT+5", "UTC-03:00"); they are not IANA names.
        let offsetSpelling = ["GMT+", "GMT-", "UTC+", "UTC-"].contains { identifier.hasPrefix($0) }
        guard wellFormed, !offsetSpelling, let zone = TimeZone(identifier: identifier) else {
            throw ValidationError(
                code: .invalidTimeZone, field: "timezone",
                message: "time zone \(ValidationError.quoted(identifier)) is not a known IANA time zone "
                    + "(e.g. UTC, Europe/Berlin, America/New_York)")
        }
        return zone
    }

    /// Parses a monthly anchor day, `1`–`31`.
    /// - Parameter text: The text.
    /// - Returns: The day.
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidPolicy``.
    public static func parseAnchorDay(_ text: String) throws(ValidationError) -> Int {
        guard let day = Int(text), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), (1...31).contains(day) else {
            throw ValidationError(
                code: .invalidPolicy, field: "anchor",
                message: "anchor day \(ValidationError.quoted(text)) is not a day of the month 1-31")
        }
        return day
    }

    /// Parses an ISO weekday: `1`–`7` (1 = Monday) or an English name, full or three letters,
    /// case-insensitive (`"monday"`, `"Sun"`).
    /// - Parameter text: The text.
    /// - Returns: 1 (Monday) … 7 (Sunday).
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidPolicy``.
    public static func parseWeekday(_ text: String) throws(ValidationError) -> Int {
        let names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        let lowered = text.lowercased()
        if let index = names.firstIndex(where: { $0 == lowered || $0.prefix(3) == lowered }) {
            return index + 1
        }
        if text.utf8.count == 1, let number = Int(text), (1...7).contains(number) {
            return number
        }
        throw ValidationError(
            code: .invalidPolicy, field: "anchor",
            message: "anchor weekday \(ValidationError.quoted(text)) is not 1-7 (1 = Monday) or a weekday name")
    }

    // MARK: - Description and coding

    /// E.g. `monthly from day 31, Europe/Berlin`, `weekly from Monday, UTC`, `daily, UTC`.
    public var description: String {
        switch period {
        case .monthly(let day):
            return "monthly from day \(day), \(timeZoneIdentifier)"
        case .weekly(let weekday):
            let names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
            return "weekly from \(names[weekday - 1]), \(timeZoneIdentifier)"
        case .daily:
            return "daily, \(timeZoneIdentifier)"
        }
    }

    /// Two policies are equal when their periods and time zone identifiers are.
    public static func == (lhs: BillingCyclePolicy, rhs: BillingCyclePolicy) -> Bool {
        lhs.period == rhs.period && lhs.timeZoneIdentifier == rhs.timeZoneIdentifier
    }

    /// Hashes the period and the time zone identifier.
    /// - Parameter hasher: The hasher.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(period)
        hasher.combine(timeZoneIdentifier)
    }

    enum CodingKeys: String, CodingKey {
        case period, anchor, timezone
    }

    /// Decodes `{"period":…,"anchor":…,"timezone":…}`, validating as ``init(period:timeZone:)``.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` carrying the validation message.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let name = try container.decode(String.self, forKey: .period)
        let anchor = try container.decodeIfPresent(Int.self, forKey: .anchor)
        let zone = try container.decodeIfPresent(String.self, forKey: .timezone) ?? "UTC"
        let period: Period
        switch name {
        case "monthly": period = .monthly(anchorDay: anchor ?? 1)
        case "weekly": period = .weekly(anchorWeekday: anchor ?? 1)
        case "daily" where anchor == nil: period = .daily
        case "daily":
            throw DecodingError.dataCorruptedError(
                forKey: .anchor, in: container, debugDescription: "a daily cycle has no anchor")
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .period, in: container,
                debugDescription: "period \(ValidationError.quoted(name)) is not one of monthly, weekly, daily")
        }
        do {
            try self.init(period: period, timeZone: zone)
        } catch {
            let key: CodingKeys = error.code == .invalidTimeZone ? .timezone : .anchor
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: error.message)
        }
    }

    /// Encodes `{"period":…,"anchor":…,"timezone":…}`; `anchor` is omitted for daily policies.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(period.name, forKey: .period)
        try container.encodeIfPresent(period.anchor, forKey: .anchor)
        try container.encode(timeZoneIdentifier, forKey: .timezone)
    }
}

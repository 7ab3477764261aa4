import Foundation

/// One billing cycle: the local days `start ..< end` in a time zone, and the instants they cover.
///
/// A cycle is named by ``start`` (`YYYY-MM-DD`, see ``name``). ``end`` is the next cycle's start
/// date and is exclusive, which is what the CLI prints as `cycle_end`. The instants are the first
/// instants of those local days (local midnight, see ``CalendarDate/firstInstant(in:)``), so a cycle
/// that spans a DST change is 1 hour shorter or longer than whole days.
///
/// Cycles come from a ``BillingCyclePolicy``: ``BillingCyclePolicy/cycle(containing:)-(Date)``,
/// ``BillingCyclePolicy/cycle(startingOn:)``, ``BillingCyclePolicy/cycle(after:)`` and
/// ``BillingCyclePolicy/cycle(before:)``.
public struct BillingCycle: Sendable, Hashable, CustomStringConvertible {
    /// The first local day of the cycle; also its name.
    public let start: CalendarDate
    /// The first local day after the cycle (the next cycle's start), exclusive.
    public let end: CalendarDate
    /// The first instant of ``start`` in ``timeZone`` (inclusive).
    public let startInstant: Date
    /// The first instant of ``end`` in ``timeZone`` (exclusive).
    public let endInstant: Date
    /// The time zone whose wall clock defines the cycle's days.
    public let timeZone: TimeZone
    /// The IANA identifier the policy was configured with (e.g. `"UTC"`; Foundation reports that
    /// zone's ``timeZone`` identifier as `"GMT"`).
    public let timeZoneIdentifier: String

    /// Creates the cycle covering the local days `start ..< end` in `timeZone`.
    /// - Parameters:
    ///   - start: The first day.
    ///   - end: The first day after the cycle; must be after `start`.
    ///   - timeZone: The time zone of the days.
    ///   - timeZoneIdentifier: The identifier `timeZone` was created from.
    init(start: CalendarDate, end: CalendarDate, timeZone: TimeZone, timeZoneIdentifier: String) {
        self.start = start
        self.end = end
        self.timeZone = timeZone
        self.timeZoneIdentifier = timeZoneIdentifier
        self.startInstant = start.firstInstant(in: timeZone)
        self.endInstant = end.firstInstant(in: timeZone)
    }

    /// The cycle's name: its start date, `YYYY-MM-DD`.
    public var name: String { start.description }

    /// The length in seconds (`endInstant - startInstant`); not always a whole number of days.
    public var duration: TimeInterval { endInstant.timeIntervalSince(startInstant) }

    /// The number of local days in the cycle.
    public var dayCount: Int { end.daysSince1970 - start.daysSince1970 }

    /// Whether `instant` lies in `startInstant ..< endInstant`.
    /// - Parameter instant: The instant.
    /// - Returns: `true` when the instant belongs to this cycle.
    public func contains(_ instant: Date) -> Bool {
        startInstant <= instant && instant < endInstant
    }

    /// Whether the local day `date` lies in `start ..< end`.
    /// - Parameter date: The local day.
    /// - Returns: `true` when the day belongs to this cycle.
    public func contains(_ date: CalendarDate) -> Bool {
        start <= date && date < end
    }

    /// Whether the cycle has ended at `instant` (`endInstant <= instant`); rollover closes only ended cycles.
    /// - Parameter instant: The instant to evaluate at, e.g. now.
    /// - Returns: `true` when the cycle is over.
    public func hasEnded(at instant: Date) -> Bool {
        endInstant <= instant
    }

    /// `start..<end (time zone)`, e.g. `2025-01-31..<2025-02-28 (Europe/Berlin)`.
    public var description: String {
        "\(start)..<\(end) (\(timeZoneIdentifier))"
    }
}

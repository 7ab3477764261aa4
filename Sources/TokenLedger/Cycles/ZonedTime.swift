import Foundation

/// Conversions between instants (whole seconds since 1970) and local days in a time zone.
///
/// Only `TimeZone.secondsFromGMT(for:)` is consulted, so the results follow the tz database
/// bundled with Foundation and nothing else (no locale, no `Calendar` settings).
enum ZonedTime {
    /// 0001-01-01T00:00:00Z.
    static let minimumSecond: Int64 = -62_135_596_800
    /// 9999-12-31T23:59:59Z.
    static let maximumSecond: Int64 = 253_402_300_799

    /// The whole second containing `instant` (rounded down), clamped to years 0001–9999;
    /// NaN becomes 0.
    static func clampedSeconds(_ instant: Date) -> Int64 {
        let t = instant.timeIntervalSince1970
        guard !t.isNaN else { return 0 }
        if t <= Double(minimumSecond) { return minimumSecond }
        if t >= Double(maximumSecond) { return maximumSecond }
        return Int64(t.rounded(.down))
    }

    /// Division rounding towards negative infinity.
    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// The wall-clock reading of instant `t` in `timeZone`, as seconds since 1970-01-01T00:00 local.
    static func local(_ t: Int64, in timeZone: TimeZone) -> Int64 {
        t + Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(t))))
    }

    /// The first second `t` whose wall-clock reading is on or after local midnight of `day`.
    ///
    /// Normally that is local midnight itself. When midnight falls in a gap (the clock jumps
    /// forward over it) it is the transition instant; when midnight occurs twice (the clock jumps
    /// back across it, e.g. America/Havana 2023-11-05 or Antarctica/Casey 2010-03-05) it is the first.
    static func firstSecond(ofDay day: Int, in timeZone: TimeZone) -> Int64 {
        let midnight = Int64(day) * 86_400
        func offset(_ t: Int64) -> Int64 {
            Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(t))))
        }
        // Every instant that reads exactly midnight is `midnight - o` for an offset `o` in effect
        // around it. Collect the offsets on both sides of the day (UTC offsets stay within ±26 h)
        // and keep the earliest candidate at which the clock reaches midnight from the day before.
        let guess = offset(midnight)
        var candidates: [Int64] = []
        for o in [offset(midnight - 30 * 3600), offset(midnight + 30 * 3600), guess, offset(midnight - guess)]
        where !candidates.contains(midnight - o) {
            candidates.append(midnight - o)
        }
        var first: Int64?
        for t in candidates where local(t, in: timeZone) == midnight && local(t - 1, in: timeZone) < midnight {
            first = min(first ?? t, t)
        }
        if let first {
            return first
        }
        // Midnight falls in a gap: binary search for the first second reading after midnight.
        var low = midnight - 30 * 3600  // reads before midnight
        var high = midnight + 30 * 3600  // reads after midnight
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if local(middle, in: timeZone) >= midnight {
                high = middle
            } else {
                low = middle
            }
        }
        return high
    }
}

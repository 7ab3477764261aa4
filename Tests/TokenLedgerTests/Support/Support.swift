import Foundation

@testable import TokenLedger

/// A date from a literal known to be valid.
func day(_ text: String) -> CalendarDate {
    do { return try CalendarDate(parsing: text) } catch { fatalError("bad test date \(text): \(error)") }
}

/// An instant from a literal known to be valid ISO 8601.
func instant(_ text: String) -> Date {
    do { return try ISO8601Instant.parse(text) } catch { fatalError("bad test instant \(text): \(error)") }
}

/// A policy from literals known to be valid.
func makePolicy(_ period: BillingCyclePolicy.Period, _ zone: String = "UTC") -> BillingCyclePolicy {
    do { return try BillingCyclePolicy(period: period, timeZone: zone) } catch {
        fatalError("bad test policy: \(error)")
    }
}

/// A small deterministic generator (SplitMix64) so property-style tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

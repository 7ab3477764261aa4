import CoreMetrics

extension Timer {
    /// Records the time elapsed since `start`, in nanoseconds (clamped to `Int64`).
    package func recordInterval(since start: ContinuousClock.Instant) {
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        recordNanoseconds(overflow ? Int64.max : scaled &+ attoseconds / 1_000_000_000)
    }
}

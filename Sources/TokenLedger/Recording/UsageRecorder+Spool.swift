import Foundation
import Logging
import RedisClient
import Synchronization

// UsageRecorder: spooling what Redis did not take, the replay loop and the spool gauges.
extension UsageRecorder {
    /// Spools an event Redis did not take, through the spool writer: the fsync, and the spool
    /// gauges' reading of the spool's files, run on its thread, not on the caller's cooperative
    /// thread. Without a spool, or when the spool refuses the event, it is lost, loudly.
    func spoolOrFail(_ event: SpooledEvent, because error: any Error) async -> RecordOutcome {
        guard let spoolWriter else { return lost(event, because: error) }
        return await withCheckedContinuation { continuation in
            spoolWriter.append(event) { result in continuation.resume(returning: self.spooled(event, result)) }
        }
    }

    /// As ``spoolOrFail(_:because:)`` for a fire-and-forget record, on a pipeline lane: the lane
    /// does not wait for the fsync, only for room when the writer is far behind.
    func spoolOrFailInBackground(_ event: SpooledEvent, because error: any Error) {
        guard let spoolWriter else {
            _ = lost(event, because: error)
            return
        }
        // A lane is a thread of its own: it may wait while the writer is far behind (back-pressure
        // for fire-and-forget callers, as when lanes wrote the spool themselves).
        spoolWriter.append(event, waitingForRoom: true) { result in _ = self.spooled(event, result) }
    }

    /// An event Redis applied but too few replicas acknowledged: spooled too (its replay is a
    /// duplicate, so it counts once), so a failover before the replicas catch up loses nothing. The
    /// outcome is applied (or duplicate) with ``RecordResult/unreplicated`` set; without a spool,
    /// or when the spool refuses it, `failed` with ``LedgerError/Code/notReplicated``.
    func spoolUnreplicated(_ event: SpooledEvent, _ unreplicated: UnreplicatedWrite) async -> RecordOutcome {
        metrics.unreplicated()
        guard let spoolWriter else { return unreplicatedWithoutSpool(event, unreplicated) }
        let written = await withCheckedContinuation { continuation in
            spoolWriter.append(event) { result in continuation.resume(returning: result) }
        }
        return spooledUnreplicated(event, unreplicated, written)
    }

    /// As ``spoolUnreplicated(_:_:)`` for a fire-and-forget record, on a pipeline lane.
    func spoolUnreplicatedInBackground(_ event: SpooledEvent, _ unreplicated: UnreplicatedWrite) {
        metrics.unreplicated()
        guard let spoolWriter else {
            _ = unreplicatedWithoutSpool(event, unreplicated)
            return
        }
        spoolWriter.append(event, waitingForRoom: true) { result in
            _ = self.spooledUnreplicated(event, unreplicated, result)
        }
    }

    private func unreplicatedWithoutSpool(_ event: SpooledEvent, _ unreplicated: UnreplicatedWrite) -> RecordOutcome {
        metrics.record("failed")
        logger.error(
            "usage applied but not acknowledged by enough replicas, and no spool is configured: a failover could lose it",
            metadata: [LoggingKeys.callID: "\(event.callID)", LoggingKeys.error: "\(unreplicated.error)"])
        return .failed(unreplicated.error)
    }

    private func spooledUnreplicated(
        _ event: SpooledEvent, _ unreplicated: UnreplicatedWrite, _ written: Result<Void, SpoolError>
    ) -> RecordOutcome {
        if case .failure(let error) = written {
            metrics.record("failed")
            logger.critical(
                "usage not replicated and the spool refused it: a failover could lose it",
                metadata: [LoggingKeys.callID: "\(event.callID)", LoggingKeys.error: "\(error)"])
            return .failed(unreplicated.error)
        }
        var result = unreplicated.result
        result.unreplicated = true
        metrics.record(result.applied ? "applied" : "duplicate")
        logger.warning(
            "usage applied but not acknowledged by enough replicas; spooled too",
            metadata: [LoggingKeys.callID: "\(event.callID)", LoggingKeys.error: "\(unreplicated.error)"])
        reportSpool(atMostEvery: .seconds(1))
        trigger.yield()
        return result.applied ? .applied(result) : .duplicate(result)
    }

    /// A wrong password or an ACL refusal is not an outage: spooling would hide it (and replay
    /// could never succeed until an operator acts), so the event fails loudly instead.
    func refused(_ event: SpooledEvent, because error: any Error) -> RecordOutcome {
        metrics.redisError(error)
        metrics.record("failed")
        logger.error(
            "usage not recorded: redis refused this user (authentication or permission); not spooled",
            metadata: [LoggingKeys.callID: "\(event.callID)", LoggingKeys.error: "\(error)"])
        return .failed(error)
    }

    /// An event whose cycle's call ids were dropped (``ParkedWrite``): into the spool directory's
    /// parked file when there is a spool (``RecordOutcome/parked(_:)``), else rejected (nothing was
    /// written, and there is nowhere to keep it).
    func park(_ event: SpooledEvent, _ parked: ParkedWrite) -> RecordOutcome {
        guard let spool else {
            metrics.record("rejected")
            logger.error(
                "usage not recorded: its cycle's call ids were dropped after the dedupe window; no spool to park it in",
                metadata: [LoggingKeys.callID: "\(event.callID)"])
            return .rejected(parked)
        }
        do {
            try ParkedEvents(directory: spool.directory).append(event, reason: parked.message)
        } catch {
            metrics.record("failed")
            logger.critical(
                "usage lost: it could not be parked",
                metadata: [LoggingKeys.callID: "\(event.callID)", LoggingKeys.error: "\(error)"])
            return .failed(error)
        }
        metrics.parked()
        logger.warning(
            "usage parked: its cycle's call ids were dropped after the dedupe window",
            metadata: [LoggingKeys.callID: "\(event.callID)"])
        return .parked(parked)
    }

    private func lost(_ event: SpooledEvent, because error: any Error) -> RecordOutcome {
        metrics.record("failed")
        logger.error(
            "usage lost: redis failed and no spool is configured",
            metadata: [LoggingKeys.callID: "\(event.callID)", LoggingKeys.error: "\(error)"])
        return .failed(error)
    }

    func spooled(_ event: SpooledEvent, _ result: Result<Void, SpoolError>) -> RecordOutcome {
        if case .failure(let error) = result {
            metrics.record("failed")
            logger.critical(
                "usage lost: redis failed and the spool refused the event",
                metadata: [LoggingKeys.callID: "\(event.callID)", LoggingKeys.error: "\(error)"])
            return .failed(error)
        }
        metrics.record("spooled")
        reportSpool(atMostEvery: .seconds(1))
        trigger.yield()
        return .spooled
    }

    /// Replays until the spool is empty, backing off while Redis fails.
    func drain() async {
        var backoff = options.minimumBackoff
        while !Task.isCancelled {
            do {
                let result = try await flush()
                if result.applied + result.duplicates > 0 {
                    logger.info(
                        "spool replayed",
                        metadata: [
                            LoggingKeys.applied: "\(result.applied)", LoggingKeys.duplicates: "\(result.duplicates)",
                        ])
                }
                return  // Anything left is held by another live process, which replays its own.
            } catch let error as RedisError where error.code == .server {
                // Redis answered but refused (e.g. NOPERM): a configuration problem that waiting alone
                // will not fix. Keep the events and keep retrying, but say so loudly.
                logger.error(
                    "spool replay refused by redis; events stay spooled",
                    metadata: [LoggingKeys.error: "\(error)", LoggingKeys.redisCode: "\(error.serverCode ?? "")"])
                try? await Task.sleep(for: min(max(backoff, .zero), Validation.maximumTimeout))
                backoff = min(min(backoff, Validation.maximumTimeout) * 2, options.maximumBackoff)
            } catch {
                logger.debug("spool replay waits for redis", metadata: [LoggingKeys.error: "\(error)"])
                try? await Task.sleep(for: min(max(backoff, .zero), Validation.maximumTimeout))
                backoff = min(min(backoff, Validation.maximumTimeout) * 2, options.maximumBackoff)
            }
        }
    }

    /// Records the spool gauges. `status()` reads every segment, so while Redis is down and events
    /// spool one after another, reading it for each would cost time growing with the spool (up to
    /// 64 MiB per event): `atMostEvery` skips reports that come sooner than that after the last,
    /// and schedules one report for when the interval has passed, so the gauges end up current.
    func reportSpool(atMostEvery interval: Duration = .zero) {
        guard let spool else { return }
        let now = ContinuousClock.now
        let (due, scheduleTrailing) = spoolReports.withLock { reports -> (Bool, Bool) in
            if let last = reports.last, now - last < interval {
                if reports.trailing { return (false, false) }
                reports.trailing = true
                return (false, true)
            }
            reports.last = now
            return (true, false)
        }
        if scheduleTrailing {
            // A follow-up of run(); once the recorder stopped there is nothing left to report.
            work.yield {
                try? await Task.sleep(for: interval)
                self.spoolReports.withLock { $0.trailing = false }
                self.reportSpool()
            }
        }
        guard due else { return }
        let status = spool.status()
        metrics.spool(events: status.events, bytes: status.bytes)
    }

    /// Authentication and permission failures (`WRONGPASS`, `NOAUTH`, `NOPERM`, also inside a
    /// script): the event is not spooled, the caller gets the error.
    static func isPermissionDenied(_ error: any Error) -> Bool {
        ErrorCategory.of(error) == .permissionDenied
    }

    /// Errors retrying cannot fix: bad input (overflow, a retired cycle too) and corrupt stored
    /// data (a schema newer than this build too).
    static func isRejection(_ error: any Error) -> Bool {
        let category = ErrorCategory.of(error)
        return category == .badInput || category == .corruptData
    }
}

import Foundation
import Logging
import RedisClient
import Synchronization

// UsageRecorder: submitting a record (the pool or the shared pipeline, within the bound) and fire-and-forget records.
extension UsageRecorder {
    /// Records one call's usage without waiting for Redis: returns as soon as the event is queued
    /// (waiting only for room when the pipeline's queue is full: back-pressure). What happens next is
    /// counted in metrics and logged: applied, duplicate, spooled (Redis slow or down), or rejected.
    /// Without ``Options/pipeline`` the event is handed to a task of its own.
    public func recordInBackground(
        user: String, callID: String, usage: UsageRecord, model: String = "", provider: String = "",
        cycle: CalendarDate? = nil, at instant: Date = Date()
    ) async {
        await submitInBackground(
            SpooledEvent(
                operation: .record, user: user, callID: callID, usage: usage, model: model, provider: provider,
                cycle: cycle, at: instant, namespace: repository.keys.namespace))
    }

    /// Settles a call's reservation without waiting for Redis, as
    /// ``recordInBackground(user:callID:usage:model:provider:cycle:at:)`` records: returns as soon as
    /// the settle is queued; it is then applied, spooled (Redis slow or down, with a spool) or
    /// rejected, counted in metrics and logged. A recorder that shuts down still sends what was queued.
    public func settleInBackground(
        user: String, callID: String, usage: UsageRecord, model: String = "", provider: String = "",
        at instant: Date = Date()
    ) async {
        await submitInBackground(
            SpooledEvent(
                operation: .settle, user: user, callID: callID, usage: usage, model: model, provider: provider,
                at: instant, namespace: repository.keys.namespace))
    }

    /// Validates and prices a fire-and-forget event, then queues it (a rejected one is counted and logged).
    private func submitInBackground(_ event: SpooledEvent) async {
        var event = event
        let (usage, model, callID) = (event.usage, event.model, event.callID)
        do {
            try Self.validate(event)
            // Priced from the cached table when there is one; else the follow-up that records it prices it.
            event.cost = try repository.eventCostNow(of: usage, model: model)
        } catch {
            metrics.record("rejected")
            logger.warning(
                "usage rejected", metadata: [LoggingKeys.callID: "\(callID)", LoggingKeys.error: "\(error)"])
            return
        }
        await enqueueInBackground(event)
    }

    /// Queues a validated fire-and-forget record on the pipeline (or hands it to a follow-up).
    func enqueueInBackground(_ event: SpooledEvent) async {
        guard let pipeline, event.cost != nil, repository.cachedSettings() != nil, repository.schemaKnownWritable,
            let slot = slot(of: event, for: pipeline)
        else {
            // A follow-up of run(); a recorder nobody runs records it before returning instead.
            if isRunning {
                later { _ = await self.submit(await self.priced(event)) }
            } else {
                _ = await submit(await priced(event))
            }
            return
        }
        // The commands are built on the pipeline's lane thread; the caller only queues the event.
        let built = PreparedRecord()
        await pipeline.enqueue(slot: slot, deadline: queueDeadline(), wait: repository.configuration.replicaWait) {
            do {
                let prepared = try self.prepareNow(event)
                built.write = prepared
                return prepared.calls.map(\.command)
            } catch {
                self.later { _ = await self.submit(event) }
                return nil
            }
        } completion: { result in
            self.finishInBackground(event, prepared: built.write, result: result)
        }
    }

    /// The hash slot of the event's user (every key of a record group is in it), for the pipeline's
    /// lane of that slot's master on a Redis Cluster (0 on a single server, where it is not used and
    /// not computed); `nil` for a user id that has no keys (it was validated, so never in practice:
    /// the caller then takes the pool).
    func slot(of event: SpooledEvent, for pipeline: RedisRoutedPipeline) -> Int? {
        guard pipeline.routesBySlot else { return 0 }
        return (try? repository.keys.user(event.user)).map { HashSlot.slot(for: $0.profile) }
    }

    /// The checks a record gets before anything is sent: its fields, its instant, and the cost it
    /// carries (a spooled line's `cost_usd` is checked as a freshly priced one is).
    static func validate(_ event: SpooledEvent) throws {
        try TokenRepository.validateRecord(
            user: event.user, callID: event.callID, usage: event.usage, model: event.model, provider: event.provider)
        try Validation.validateEventInstant(event.at)
        if case .priced(let cost)? = event.cost { try EventCost.check(cost, field: "cost_usd") }
    }

    /// Records one event and waits for the outcome (counted in metrics): the pool or the shared
    /// pipeline, within the record bound when a spool is configured.
    ///
    /// - Parameter preferPipeline: Use the pipeline even for a lone caller (follow-ups resent after a
    ///   script reload, which arrive one by one but are many).
    /// - Parameter spent: Time the caller already spent on the event (pricing it), taken from the
    ///   record bound, so the caller never waits longer than ``Options-swift.struct/recordTimeout``.
    func submit(_ event: SpooledEvent, preferPipeline: Bool = false, spent: Duration = .zero) async -> RecordOutcome {
        do {
            try Self.validate(event)
        } catch {
            metrics.record("rejected")
            return .rejected(error)
        }
        // A lone caller gains nothing from coalescing, and the pool answers it faster than a lane
        // (without any thread hand-off when the pool's inlineReplyWait is set): it takes the pool's
        // path. Concurrent callers share the pipeline.
        // An attempt counts as in flight until it ends, also after the caller stopped waiting for
        // it (recordTimeout): while Redis stalls, later records then use the pipeline, whose
        // deadlines are short, instead of pinning one pooled connection each.
        let alone = awaitedInFlight.add(1, ordering: .relaxed).newValue == 1
        let pipeline = alone && options.loneCallerUsesPool && !preferPipeline ? nil : self.pipeline
        let operation: @Sendable () async throws -> RecordResult = {
            defer { self.awaitedInFlight.subtract(1, ordering: .relaxed) }
            if let pipeline {
                do {
                    return try await self.applyPipelined(event, pipeline: pipeline)
                } catch let error as RedisError where error.code == .poolClosed {
                    // The pipeline stopped (a shutdown) before this event was queued: the pool
                    // still takes it.
                }
            }
            return try await self.apply(event)
        }
        let attempt: DeadlineOutcome<RecordResult>
        if spool != nil {
            // The queue deadline and socket timeouts usually end it sooner; the deadline here is the
            // promise: the caller never waits longer than recordTimeout before the event is spooled.
            attempt = await withDeadline(max(options.recordTimeout - spent, .zero), operation)
        } else {
            // No spool: there is nowhere else for the event, so wait for Redis.
            do {
                attempt = .value(try await operation())
            } catch {
                attempt = .error(error)
            }
        }
        switch attempt {
        case .value(let result):
            metrics.record(result.applied ? "applied" : "duplicate")
            return result.applied ? .applied(result) : .duplicate(result)
        case .error(let unreplicated as UnreplicatedWrite):
            return await spoolUnreplicated(event, unreplicated)
        case .error(let conflict as CallConflict):
            metrics.record("conflict")
            return .conflict(conflict)
        case .error(let parked as ParkedWrite):
            return park(event, parked)
        case .error(let error) where Self.isRejection(error):
            metrics.record("rejected")
            return .rejected(error)
        case .error(let error as LedgerError) where error.code == .newerSchema:
            // Redis answered: this binary must not write there. Refused, not spooled (a replay by
            // this binary would be refused too); an upgraded binary records it again.
            metrics.record("rejected")
            logger.error(
                "usage refused: the namespace's schema is newer than this build",
                metadata: [LoggingKeys.callID: "\(event.callID)", LoggingKeys.error: "\(error)"])
            return .rejected(error)
        case .error(let error) where Self.isPermissionDenied(error):
            return refused(event, because: error)
        case .error(let error):
            metrics.redisError(error)
            return await spoolOrFail(event, because: error)
        case .timedOut:
            return await spoolOrFail(
                event,
                because: RedisError(code: .timeout, message: "redis did not record within \(options.recordTimeout)"))
        }
    }

    /// The record's script calls at the cycle its user's policy gives now.
    private func prepare(_ event: SpooledEvent) async throws -> PreparedWrite {
        try checkNamespace(event)
        try Validation.validateEventInstant(event.at)
        let settings = try await repository.settingsWithoutWaiting()
        try await repository.ensureWritableSchema()  // no round trip once the settings read found it writable
        let cost = try await repository.resolvedCost(event.cost, of: event.usage, model: event.model)
        return try prepare(event, settings: settings, cost: cost)
    }

    /// As ``prepare(_:)``, with the cached settings and without suspending (for a lane thread).
    private func prepareNow(_ event: SpooledEvent) throws -> PreparedWrite {
        try checkNamespace(event)
        try Validation.validateEventInstant(event.at)
        guard repository.schemaKnownWritable else {
            throw LedgerError(code: .notReady, message: "the schema version is not checked yet")
        }
        guard let settings = repository.cachedSettings() else {
            throw LedgerError(code: .notReady, message: "settings are not loaded yet")
        }
        guard let cost = try event.cost ?? repository.eventCostNow(of: event.usage, model: event.model) else {
            throw LedgerError(code: .notReady, message: "prices are not loaded yet")
        }
        return try prepare(event, settings: settings, cost: cost)
    }

    private func prepare(_ event: SpooledEvent, settings: TokenRepository.Settings, cost: EventCost) throws
        -> PreparedWrite
    {
        try repository.prepareWrite(
            event.operation.writeKind, user: event.user, callID: event.callID, usage: event.usage, model: event.model,
            cycle: event.cycle, at: event.at, settings: settings, cost: cost)
    }

    /// The event with its cost, priced now when it has none (``TokenRepository/eventCost(of:model:)``):
    /// from the cached price table, else read within the record bound (with a spool); an event
    /// whose prices cannot be read in time keeps no cost and is priced when it is replayed.
    func priced(_ event: SpooledEvent) async -> SpooledEvent {
        guard event.cost == nil else { return event }
        var event = event
        if let cost = try? repository.eventCostNow(of: event.usage, model: event.model) {
            event.cost = cost
            return event
        }
        let (usage, model, repository) = (event.usage, event.model, repository)
        if spool == nil {
            event.cost = try? await repository.eventCost(of: usage, model: model)
        } else if case .value(let cost) = await withDeadline(
            options.recordTimeout / 2, { try await repository.eventCost(of: usage, model: model) })
        {
            event.cost = cost
        }
        return event
    }

    /// One record through the shared pipeline; the rare cases (a script not loaded yet, a changed
    /// policy) go through the repository, which handles them.
    private func applyPipelined(_ event: SpooledEvent, pipeline: RedisRoutedPipeline) async throws -> RecordResult {
        let prepared = try await prepare(event)
        guard let slot = slot(of: event, for: pipeline) else { return try await apply(event) }
        let commands = prepared.calls.map(\.command)
        let replies: [RedisReply]
        var acknowledged = Int.max
        if let wait = repository.configuration.replicaWait {
            (replies, acknowledged) = try await pipeline.send(
                commands, slot: slot, deadline: queueDeadline(), wait: wait)
        } else {
            replies = try await pipeline.send(commands, slot: slot, deadline: queueDeadline())
        }
        if Self.isNoScript(replies[PreparedWrite.writeIndex]) { return try await apply(event) }  // it never ran
        switch try prepared.decode(replies) {
        case .done(let written):
            let result = await repository.finishWrite(written)
            try await repository.bookGroups(written, event: event)
            try repository.checkReplicated(result, acknowledged: acknowledged)
            return result
        case .retry(let stored):
            repository.notePolicy(user: event.user, stored: stored)
            return try await apply(event)
        }
    }

    /// Handles a fire-and-forget record's replies, on a pipeline lane thread.
    private func finishInBackground(
        _ event: SpooledEvent, prepared: PreparedWrite?, result: Result<[RedisReply], RedisError>
    ) {
        switch result {
        case .success(var replies):
            var acknowledged = Int.max
            if repository.configuration.replicaWait != nil {
                (replies, acknowledged) = RedisPipelineClient.splitAcknowledgement(replies)
            }
            // The builder returned commands, so it prepared the write; were it not so, the pool takes it.
            guard let prepared else {
                later { _ = await self.submit(event) }
                return
            }
            if Self.isNoScript(replies[PreparedWrite.writeIndex]) {
                // It never ran. The first NOSCRIPT after a flush reloads the script once (through
                // the pool) while the others wait, then they go back to the pipeline.
                let seen = ContinuousClock.now
                later { await self.resendAfterNoScript(event, seen: seen) }
                return
            }
            do {
                switch try prepared.decode(replies) {
                case .done(let written):
                    if written.indexDue || written.result.amendsHistory {
                        later { _ = await self.repository.finishWrite(written) }
                    }
                    if written.groups != ScopeGroups() {
                        // Its team and org are booked through the pool; a failure sends the whole event
                        // through the pool path (the user's part is then a duplicate), which spools it.
                        later {
                            do { try await self.repository.bookGroups(written, event: event) } catch {
                                _ = await self.submit(event)
                            }
                        }
                    }
                    do {
                        try repository.checkReplicated(written.result, acknowledged: acknowledged)
                        metrics.record(written.result.applied ? "applied" : "duplicate")
                    } catch let unreplicated as UnreplicatedWrite {
                        spoolUnreplicatedInBackground(event, unreplicated)
                    }
                case .retry(let stored):
                    repository.notePolicy(user: event.user, stored: stored)
                    later { _ = await self.submit(event) }
                }
            } catch let parked as ParkedWrite {
                _ = park(event, parked)
            } catch let conflict as CallConflict {
                metrics.record("conflict")
                logger.warning(
                    "usage refused: its call id was already recorded with another total",
                    metadata: [LoggingKeys.callID: "\(event.callID)", LoggingKeys.error: "\(conflict)"])
            } catch  where Self.isRejection(error) {
                metrics.record("rejected")
                logger.warning(
                    "usage rejected", metadata: [LoggingKeys.callID: "\(event.callID)", LoggingKeys.error: "\(error)"])
            } catch  where Self.isPermissionDenied(error) {
                _ = refused(event, because: error)
            } catch {
                metrics.redisError(error)
                spoolOrFailInBackground(event, because: error)
            }
        case .failure(let error) where Self.isPermissionDenied(error):
            _ = refused(event, because: error)
        case .failure(let error):
            metrics.redisError(error)
            spoolOrFailInBackground(event, because: error)
        }
    }

    /// How long a pipelined event may wait in the queue: with a spool, half the record bound (it is
    /// spooled after that); without one, there is nowhere else for it to go, so it waits.
    private func queueDeadline() -> ContinuousClock.Instant {
        ContinuousClock.now + (spool != nil ? options.recordTimeout / 2 : .seconds(86_400))
    }

    /// A fire-and-forget record answered `NOSCRIPT` (seen at `seen`): the first one records through
    /// the pool, which loads the script; the others wait for it and are sent on the pipeline again.
    ///
    /// They are resent through ``submit(_:preferPipeline:)``, awaited in this follow-up, not queued
    /// as fire-and-forget groups again: the follow-up may run while the recorder shuts down, after
    /// the pipeline stopped taking groups, and `submit` then takes the pool (a group queued on a
    /// stopped pipeline would fail, and without a spool the record would be lost). A second
    /// `NOSCRIPT` on the awaited path goes to the pool too, which loads the script itself.
    private func resendAfterNoScript(_ event: SpooledEvent, seen: ContinuousClock.Instant) async {
        switch await scriptReload.enter(seen: seen) {
        case .load:
            _ = await submit(event)
            scriptReload.finish()
        case .loaded, .wait:
            _ = await submit(event, preferPipeline: true)
        }
    }

    private static func isNoScript(_ reply: RedisReply) -> Bool {
        if case .error(let error) = reply { return error.serverCode == "NOSCRIPT" }
        return false
    }

    private func checkNamespace(_ event: SpooledEvent) throws {
        if let namespace = event.namespace, namespace != repository.keys.namespace {
            throw LedgerError(
                code: .namespaceMismatch,
                message:
                    "the spool holds events for namespace '\(namespace)', not '\(repository.keys.namespace)'; flush with --namespace \(namespace)"
            )
        }
    }

    /// One event through the repository's pool path.
    ///
    /// - Throws: as ``TokenRepository/record(user:callID:usage:model:provider:cycle:at:)``, and
    ///   ``UnreplicatedWrite`` when the write applied but too few replicas acknowledged it.
    /// A spool replay (`replaying`) charges the rate windows only with an event that happened inside
    /// the window (`RateWindow`): a backlog replayed after an outage must not deny the calls made now.
    func apply(_ event: SpooledEvent, replaying: Bool = false) async throws -> RecordResult {
        try checkNamespace(event)
        return try await repository.write(
            event.operation.writeKind, user: event.user, callID: event.callID, usage: event.usage, model: event.model,
            provider: event.provider, cycle: event.operation == .settle ? nil : event.cycle, at: event.at,
            cost: event.cost, chargesRate: !replaying || RateWindow.chargesRate(at: event.at))
    }
}

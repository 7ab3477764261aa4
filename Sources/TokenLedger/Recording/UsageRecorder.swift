import CoreMetrics
import Foundation
import Logging
import RedisClient
import ServiceLifecycle
import Synchronization

/// What happened to one record or settle handed to a ``UsageRecorder``.
public enum RecordOutcome: Sendable {
    /// Recorded in Redis now.
    case applied(RecordResult)
    /// Redis already had this call id; nothing changed.
    case duplicate(RecordResult)
    /// Redis could not take it in time; it is in the local spool (fsync'd) and will be replayed.
    case spooled
    /// The input is bad (``ValidationError``) or can never apply; nothing was written or spooled.
    case rejected(any Error)
    /// Redis could not take it and there is no spool (or the spool refused it): the event is lost,
    /// and logged as such.
    case failed(any Error)

    /// Whether the event is safe: in Redis, or durably in the spool.
    public var isDurable: Bool {
        switch self {
        case .applied, .duplicate, .spooled: return true
        case .rejected, .failed: return false
        }
    }
}

/// The cycle and script calls a deferred record was built for: set by the builder on the lane
/// thread, read by the completion on the same thread afterwards.
final class PreparedRecord: @unchecked Sendable {
    // @unchecked Sendable: written once by the builder and read by the completion, both on the same
    // pipeline lane thread, in that order.
    var cycle: CalendarDate?
    var calls: [RedisScriptCall] = []
}

/// Records usage so that no event is lost: into Redis when it answers within a bound, else into the
/// local ``EventSpool``, which a background flusher replays (with backoff) once Redis answers.
///
/// Replays are idempotent through call ids, so an event whose Redis write was slow but succeeded,
/// and which was also spooled, still counts once. On creation, a spool left by an earlier process
/// is replayed.
///
/// ### Threading
/// `Sendable`; share one instance.
///
/// ### Lifecycle
/// A swift-service-lifecycle `Service`: run it in a `ServiceGroup` (or with ``withRunning(_:)``).
/// ``run()`` owns all background work: the spool flusher, the pipeline's lanes and the follow-ups
/// of fire-and-forget records (a re-submit, a missing script, a history amendment). A graceful
/// shutdown (or ``shutdown()``) stops the pipeline, finishes that work, waits for spooled events to
/// be written, tries one last replay of the spool and closes it; events Redis did not take stay on
/// disk, unlocked, for the next process. Awaited calls (``record(user:callID:usage:model:provider:cycle:at:)``,
/// ``settle(user:callID:usage:model:provider:at:)``, ``flush()``) also work without ``run()``;
/// background work queued then waits for ``run()`` or runs in ``shutdown()``.
public final class UsageRecorder: Service, Sendable {
    /// Bounds and backoff.
    public struct Options: Sendable, Hashable {
        /// With a spool: the longest a record or settle waits for Redis before spooling. Default 500 ms.
        /// Without a spool, calls wait for Redis (there is nowhere else to keep the event).
        public var recordTimeout: Duration
        /// The first wait after a failed replay. Default 100 ms.
        public var minimumBackoff: Duration
        /// The longest wait between replays while Redis is down. Default 10 s.
        public var maximumBackoff: Duration
        /// Whether ``UsageRecorder/run()`` replays the spool (at start-up, and after each spooled event).
        /// Default true; short-lived tools turn it off and call ``UsageRecorder/flush()`` themselves.
        public var replaysInBackground: Bool
        /// When set, records and settles from all callers are coalesced into pipelines over a few
        /// connections with threads of their own (``RedisClient/RedisPipelineClient``): the fast path
        /// for many concurrent callers. `nil` (default): each record uses a pooled connection.
        public var pipeline: RedisPipelineClient.Options?
        /// With ``pipeline``: whether an awaited record with no other awaited record in flight uses
        /// a pooled connection instead (faster for a lone caller, who has nothing to coalesce).
        /// Default true; false sends every awaited record through the pipeline.
        public var loneCallerUsesPool: Bool

        /// Creates options.
        public init(
            recordTimeout: Duration = .milliseconds(500), minimumBackoff: Duration = .milliseconds(100),
            maximumBackoff: Duration = .seconds(10), replaysInBackground: Bool = true,
            pipeline: RedisPipelineClient.Options? = nil, loneCallerUsesPool: Bool = true
        ) {
            self.recordTimeout = recordTimeout
            self.minimumBackoff = minimumBackoff
            self.maximumBackoff = maximumBackoff
            self.replaysInBackground = replaysInBackground
            self.pipeline = pipeline
            self.loneCallerUsesPool = loneCallerUsesPool
        }
    }

    /// Where events go first.
    public let repository: TokenRepository
    /// Where events go when Redis cannot take them; `nil`: nowhere (they fail).
    public let spool: EventSpool?
    /// Bounds and backoff.
    public let options: Options
    let metrics: LedgerMetrics
    private let logger: Logger
    private let trigger: AsyncStream<Void>.Continuation
    private let triggers: AsyncStream<Void>
    /// Follow-up work of fire-and-forget records, run by ``run()`` as child tasks.
    private let work: AsyncStream<@Sendable () async -> Void>.Continuation
    private let workItems: AsyncStream<@Sendable () async -> Void>
    /// Asks ``run()`` to stop (``shutdown()``).
    private let stopRequest: AsyncStream<Void>.Continuation
    private let stopRequests: AsyncStream<Void>
    private let lifecycle = Mutex(Lifecycle.idle)
    /// Record (and settle) latency, from the call to its outcome.
    private let recordLatency: CoreMetrics.Timer
    private let pipeline: RedisPipelineClient?
    /// Awaited records and settles in flight now (see `submit`).
    private let awaitedInFlight = Atomic<Int>(0)
    /// Writes spooled events off the cooperative pool, several per fsync; `nil` without a spool.
    private let spoolWriter: SpoolWriter?
    /// When the spool gauges were last recorded, and whether a trailing report is scheduled
    /// (see `reportSpool`).
    private let spoolReports = Mutex<(last: ContinuousClock.Instant?, trailing: Bool)>((nil, false))

    /// Where ``run()`` is.
    private enum Lifecycle {
        case idle
        case running(waiters: [CheckedContinuation<Void, Never>])
        case finished
    }

    /// Creates a recorder. Nothing runs in the background until ``run()``, whose flusher first
    /// replays any spool an earlier process left.
    ///
    /// - Parameter logger: By default nothing is logged.
    public init(
        repository: TokenRepository, spool: EventSpool? = nil, options: Options = Options(),
        metrics: LedgerMetrics = LedgerMetrics(),
        logger: Logger = Logger(label: "tokenledger.recorder", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.repository = repository
        self.spool = spool
        self.spoolWriter = spool.map { SpoolWriter(spool: $0) }
        self.options = options
        self.metrics = metrics
        self.logger = logger
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.trigger = continuation
        self.triggers = stream
        (self.workItems, self.work) = AsyncStream.makeStream()
        (self.stopRequests, self.stopRequest) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.recordLatency = CoreMetrics.Timer(label: "tokenledger_record_seconds", factory: metrics.factory)
        if let pipelineOptions = options.pipeline {
            // Half the bound for waiting in the queue (the group's deadline), half for the round trip.
            var configuration = repository.pool.configuration
            if spool != nil {
                configuration.commandTimeout = max(options.recordTimeout / 2, .milliseconds(10))
                configuration.connectTimeout = min(configuration.connectTimeout, configuration.commandTimeout)
            }
            self.pipeline = RedisPipelineClient(
                configuration: configuration, options: pipelineOptions, metrics: metrics.factory)
        } else {
            self.pipeline = nil
        }
        continuation.yield()  // the first replay, of what an earlier process left
    }

    /// Records one call's usage (see ``TokenRepository/record(user:callID:usage:model:provider:cycle:at:)``).
    /// Never throws: the outcome says where the event went.
    ///
    /// With ``Options-swift.struct/pipeline``, concurrent callers share the pipeline; a caller with
    /// no other awaited record in flight uses a pooled connection instead, which answers a lone
    /// caller faster (see ``Options-swift.struct/loneCallerUsesPool``).
    public func record(
        user: String, callID: String, usage: UsageRecord, model: String = "", provider: String = "",
        cycle: CalendarDate? = nil, at instant: Date = Date()
    ) async -> RecordOutcome {
        let start = ContinuousClock.now
        defer { recordLatency.recordInterval(since: start) }
        return await submit(
            SpooledEvent(
                operation: .record, user: user, callID: callID, usage: usage, model: model, provider: provider,
                cycle: cycle, at: instant, namespace: repository.keys.namespace))
    }

    /// Settles a call's reservation with its actual usage (see
    /// ``TokenRepository/settle(user:callID:usage:model:provider:at:)``). Never throws.
    public func settle(
        user: String, callID: String, usage: UsageRecord, model: String = "", provider: String = "",
        at instant: Date = Date()
    ) async -> RecordOutcome {
        let start = ContinuousClock.now
        defer { recordLatency.recordInterval(since: start) }
        return await submit(
            SpooledEvent(
                operation: .settle, user: user, callID: callID, usage: usage, model: model, provider: provider, at: instant,
                namespace: repository.keys.namespace))
    }

    /// Records one call's usage without waiting for Redis: returns as soon as the event is queued
    /// (waiting only for room when the pipeline's queue is full: back-pressure). What happens next is
    /// counted in metrics and logged: applied, duplicate, spooled (Redis slow or down), or rejected.
    /// Without ``Options/pipeline`` the event is handed to a task of its own.
    public func recordInBackground(
        user: String, callID: String, usage: UsageRecord, model: String = "", provider: String = "",
        cycle: CalendarDate? = nil, at instant: Date = Date()
    ) async {
        let event = SpooledEvent(
            operation: .record, user: user, callID: callID, usage: usage, model: model, provider: provider, cycle: cycle,
            at: instant, namespace: repository.keys.namespace)
        do {
            try TokenRepository.validateRecord(
                user: event.user, callID: event.callID, usage: event.usage, model: event.model, provider: event.provider)
            try Validation.validateEventInstant(event.at)
        } catch {
            metrics.record("rejected")
            logger.warning("usage rejected", metadata: [LoggingKeys.callID: "\(callID)", LoggingKeys.error: "\(error)"])
            return
        }
        guard let pipeline, repository.cachedSettings() != nil, repository.schemaKnownWritable else {
            // A follow-up of run(); a recorder nobody runs records it before returning instead.
            if isRunning {
                later { _ = await self.submit(event) }
            } else {
                _ = await submit(event)
            }
            return
        }
        // The commands are built on the pipeline's lane thread; the caller only queues the event.
        let built = PreparedRecord()
        await pipeline.enqueue(deadline: queueDeadline()) {
            do {
                let prepared = try self.prepareNow(event)
                built.cycle = prepared.cycle
                built.calls = prepared.calls
                return prepared.calls.map(\.command)
            } catch {
                self.later { _ = await self.submit(event) }
                return nil
            }
        } completion: { result in
            self.finishInBackground(
                event, cycle: built.cycle ?? event.cycle ?? CalendarDate(daysSince1970: 0), calls: built.calls, result: result)
        }
    }

    /// Replays the spool now (also what the background flusher does).
    ///
    /// - Throws: the Redis error that stopped the replay; what was not replayed stays spooled.
    @discardableResult
    public func flush() async throws -> ReplayResult {
        guard let spool else { return ReplayResult() }
        let result = try await spool.replay { event in
            do {
                let outcome = try await self.apply(event)
                self.metrics.record("replayed")
                return outcome.applied ? .applied : .duplicate
            } catch let error where Self.isRejection(error) {
                self.metrics.record("rejected")
                return .rejected((error as? ValidationError)?.message ?? "\(error)")
            } catch let error as LedgerError where error.code == .namespaceMismatch {
                // Another namespace's event: leave it spooled and go on with the others.
                return .otherNamespace(error.message)
            }
        }
        reportSpool()
        return result
    }

    /// Batches the pipeline sent and the commands they carried; `nil` without
    /// ``Options-swift.struct/pipeline``. A lone awaited caller does not use the pipeline (see
    /// ``record(user:callID:usage:model:provider:cycle:at:)``).
    public var pipelineStatistics: (batches: Int, commands: Int)? { pipeline?.statistics }

    /// Runs the recorder's background work until a graceful shutdown, the task's cancellation or
    /// ``shutdown()``: the spool flusher (with ``Options-swift.struct/replaysInBackground``), the
    /// pipeline's lanes, and the follow-ups of fire-and-forget records, each a child task.
    ///
    /// On a graceful shutdown or ``shutdown()`` it stops the pipeline (queued records are spooled
    /// or fail as when Redis is down), finishes the follow-ups, waits for spooled events to be
    /// written, replays the spool once more (with ``Options-swift.struct/replaysInBackground``) and
    /// closes it; then it returns. Cancellation skips the follow-ups still queued and the replay. A recorder runs once: a second call returns at once.
    public func run() async throws {
        let starts = lifecycle.withLock { state -> Bool in
            guard case .idle = state else { return false }
            state = .running(waiters: [])
            return true
        }
        guard starts else { return }
        await withTaskGroup(of: Void.self) { background in
            if spool != nil && options.replaysInBackground {
                background.addTask {
                    for await _ in self.triggers { await self.drain() }
                }
            }
            if let pipeline {
                background.addTask { try? await pipeline.run() }
            }
            await withDiscardingTaskGroup { followUps in
                followUps.addTask {
                    await withGracefulShutdownHandler {
                        for await _ in self.stopRequests { break }
                    } onGracefulShutdown: {
                        self.stopRequest.yield()
                    }
                    // Queued records are still sent; no lane hands over work once the lanes have
                    // returned; then the intake ends.
                    self.pipeline?.shutdown(finishingQueued: true)
                    await self.pipeline?.waitUntilStopped()
                    self.work.finish()
                }
                for await item in workItems { followUps.addTask { await item() } }
            }
            background.cancelAll()  // the flusher: the final replay below replaces it
        }
        await finish(replaying: options.replaysInBackground && !Task.isCancelled)
        let waiters = lifecycle.withLock { state -> [CheckedContinuation<Void, Never>] in
            defer { state = .finished }
            if case .running(let waiters) = state { return waiters }
            return []
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Runs `body` while ``run()`` runs in a child task, then shuts the recorder down and waits for
    /// ``run()`` to return: for callers without a `ServiceGroup` (tools, tests).
    public func withRunning<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask { try await self.run() }
            do {
                let value = try await body()
                await shutdown()
                return value
            } catch {
                await shutdown()
                throw error
            }
        }
    }

    /// Stops the recorder as a graceful shutdown does (see ``run()``) and returns once it has
    /// stopped; events still spooled stay on disk, unlocked, for the next process. Without
    /// ``run()``, it runs the queued follow-ups itself first. Repeatable.
    public func shutdown() async {
        enum Action { case stopRunning, stopHere, none }
        let action = lifecycle.withLock { state -> Action in
            switch state {
            case .idle:
                state = .finished
                return .stopHere
            case .running: return .stopRunning
            case .finished: return .none
            }
        }
        switch action {
        case .stopRunning:
            stopRequest.yield()
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let finished = lifecycle.withLock { state -> Bool in
                    guard case .running(var waiters) = state else { return true }
                    waiters.append(continuation)
                    state = .running(waiters: waiters)
                    return false
                }
                if finished { continuation.resume() }
            }
        case .stopHere:
            pipeline?.shutdown(finishingQueued: true)
            await pipeline?.waitUntilStopped()
            work.finish()
            for await item in workItems { await item() }
            await finish(replaying: false)
        case .none:
            return
        }
    }

    // MARK: - Internals

    /// Whether ``run()`` is running (started, and not yet returned).
    public var isRunning: Bool {
        lifecycle.withLock { state in
            if case .running = state { return true }
            return false
        }
    }

    /// Hands follow-up work to ``run()`` (one child task each).
    private func later(_ item: @escaping @Sendable () async -> Void) {
        if case .terminated = work.yield(item) {
            logger.error("a follow-up of a fire-and-forget record came after the recorder stopped; it is dropped")
        }
    }

    /// The end of the recorder's life: spooled events written, one last replay (when asked), the
    /// spool closed.
    private func finish(replaying: Bool) async {
        pipeline?.shutdown()
        trigger.finish()
        await spoolWriter?.waitUntilWritten()
        if replaying, spool != nil {
            do {
                try await flush()
            } catch {
                logger.info("spooled events stay on disk for the next process", metadata: [LoggingKeys.error: "\(error)"])
            }
        }
        spool?.close()
    }

    private func submit(_ event: SpooledEvent) async -> RecordOutcome {
        do {
            try TokenRepository.validateRecord(
                user: event.user, callID: event.callID, usage: event.usage, model: event.model, provider: event.provider)
            try Validation.validateEventInstant(event.at)
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
        let pipeline = alone && options.loneCallerUsesPool ? nil : self.pipeline
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
            attempt = await withDeadline(options.recordTimeout, operation)
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
    private func prepare(_ event: SpooledEvent) async throws -> (calls: [RedisScriptCall], cycle: CalendarDate) {
        try checkNamespace(event)
        try Validation.validateEventInstant(event.at)
        let settings = try await repository.settingsWithoutWaiting()
        try await repository.ensureWritableSchema()  // no round trip once the settings read found it writable
        return try prepare(event, settings: settings)
    }

    /// As ``prepare(_:)``, with the cached settings and without suspending (for a lane thread).
    private func prepareNow(_ event: SpooledEvent) throws -> (calls: [RedisScriptCall], cycle: CalendarDate) {
        try checkNamespace(event)
        try Validation.validateEventInstant(event.at)
        guard repository.schemaKnownWritable else {
            throw LedgerError(code: .notReady, message: "the schema version is not checked yet")
        }
        guard let settings = repository.cachedSettings() else {
            throw LedgerError(code: .notReady, message: "settings are not loaded yet")
        }
        return try prepare(event, settings: settings)
    }

    private func prepare(_ event: SpooledEvent, settings: TokenRepository.Settings) throws -> (calls: [RedisScriptCall], cycle: CalendarDate) {
        let (target, assumed) = try repository.resolveCycle(
            user: event.user, explicit: event.cycle, at: event.at, settings: settings)
        let calls = repository.recordCalls(
            event.operation, user: event.user, callID: event.callID, usage: event.usage, model: event.model,
            cycle: target, assumed: assumed, settings: settings)
        return (calls, target.start)
    }

    /// One record through the shared pipeline; the rare cases (a script not loaded yet, a changed
    /// policy) go through the repository, which handles them.
    private func applyPipelined(_ event: SpooledEvent, pipeline: RedisPipelineClient) async throws -> RecordResult {
        let prepared = try await prepare(event)
        var replies = try await pipeline.send(prepared.calls.map(\.command), deadline: queueDeadline())
        if Self.isNoScript(replies[0]) { return try await apply(event) }  // it never ran
        if replies.dropFirst().contains(where: Self.isNoScript) {
            replies = await rerunMissingScripts(prepared.calls, replies: replies)
        }
        switch try repository.recordOutcome(replies, user: event.user, cycle: prepared.cycle) {
        case .done(let result):
            if result.amendsHistory { await repository.amendHistoryNow(user: event.user, cycle: result.cycle) }
            return result
        case .retry(let stored):
            repository.notePolicy(user: event.user, stored: stored)
            return try await apply(event)
        }
    }

    /// Handles a fire-and-forget record's replies, on a pipeline lane thread.
    private func finishInBackground(
        _ event: SpooledEvent, cycle: CalendarDate, calls: [RedisScriptCall], result: Result<[RedisReply], RedisError>
    ) {
        switch result {
        case .success(let replies):
            if Self.isNoScript(replies[0]) {
                later { _ = await self.submit(event) }  // it never ran
                return
            }
            if replies.dropFirst().contains(where: Self.isNoScript) {
                // The record ran; only the index call's script was missing (see rerunMissingScripts).
                later { _ = await self.rerunMissingScripts(calls, replies: replies) }
            }
            do {
                switch try repository.recordOutcome(replies, user: event.user, cycle: cycle) {
                case .done(let outcome):
                    metrics.record(outcome.applied ? "applied" : "duplicate")
                    if outcome.amendsHistory {
                        later { await self.repository.amendHistoryNow(user: event.user, cycle: outcome.cycle) }
                    }
                case .retry(let stored):
                    repository.notePolicy(user: event.user, stored: stored)
                    later { _ = await self.submit(event) }
                }
            } catch where Self.isRejection(error) {
                metrics.record("rejected")
                logger.warning("usage rejected", metadata: [LoggingKeys.callID: "\(event.callID)", LoggingKeys.error: "\(error)"])
            } catch where Self.isPermissionDenied(error) {
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

    private static func isNoScript(_ reply: RedisReply) -> Bool {
        if case .error(let error) = reply { return error.serverCode == "NOSCRIPT" }
        return false
    }

    /// Runs again, through the pool (which loads missing scripts), the calls after the record whose
    /// script the server did not have. The record itself ran, so it is not sent again (that would
    /// report the caller's own record as a duplicate); those calls are the derived index write,
    /// whose failure only means the next record of the user tries it again.
    private func rerunMissingScripts(_ calls: [RedisScriptCall], replies: [RedisReply]) async -> [RedisReply] {
        let missing = replies.indices.dropFirst().filter { $0 < calls.count && Self.isNoScript(replies[$0]) }
        guard let rerun = try? await repository.pool.evaluateMany(missing.map { calls[$0] }) else { return replies }
        var updated = replies
        for (index, reply) in zip(missing, rerun) { updated[index] = reply }
        return updated
    }

    private func checkNamespace(_ event: SpooledEvent) throws {
        if let namespace = event.namespace, namespace != repository.keys.namespace {
            throw LedgerError(
                code: .namespaceMismatch,
                message: "the spool holds events for namespace '\(namespace)', not '\(repository.keys.namespace)'; flush with --namespace \(namespace)")
        }
    }

    private func apply(_ event: SpooledEvent) async throws -> RecordResult {
        try checkNamespace(event)
        switch event.operation {
        case .record:
            return try await repository.record(
                user: event.user, callID: event.callID, usage: event.usage, model: event.model,
                provider: event.provider, cycle: event.cycle, at: event.at)
        case .settle:
            return try await repository.settle(
                user: event.user, callID: event.callID, usage: event.usage, model: event.model,
                provider: event.provider, at: event.at)
        }
    }

    /// Spools an event Redis did not take, through the spool writer: the fsync, and the spool
    /// gauges' reading of the spool's files, run on its thread, not on the caller's cooperative
    /// thread. Without a spool, or when the spool refuses the event, it is lost, loudly.
    private func spoolOrFail(_ event: SpooledEvent, because error: any Error) async -> RecordOutcome {
        guard let spoolWriter else { return lost(event, because: error) }
        return await withCheckedContinuation { continuation in
            spoolWriter.append(event) { result in continuation.resume(returning: self.spooled(event, result)) }
        }
    }

    /// As ``spoolOrFail(_:because:)`` for a fire-and-forget record, on a pipeline lane: the lane
    /// does not wait for the fsync, only for room when the writer is far behind.
    private func spoolOrFailInBackground(_ event: SpooledEvent, because error: any Error) {
        guard let spoolWriter else {
            _ = lost(event, because: error)
            return
        }
        // A lane is a thread of its own: it may wait while the writer is far behind (back-pressure
        // for fire-and-forget callers, as when lanes wrote the spool themselves).
        spoolWriter.append(event, waitingForRoom: true) { result in _ = self.spooled(event, result) }
    }

    /// A wrong password or an ACL refusal is not an outage: spooling would hide it (and replay
    /// could never succeed until an operator acts), so the event fails loudly instead.
    private func refused(_ event: SpooledEvent, because error: any Error) -> RecordOutcome {
        metrics.redisError(error)
        metrics.record("failed")
        logger.error(
            "usage not recorded: redis refused this user (authentication or permission); not spooled",
            metadata: [LoggingKeys.callID: "\(event.callID)", LoggingKeys.error: "\(error)"])
        return .failed(error)
    }

    private func lost(_ event: SpooledEvent, because error: any Error) -> RecordOutcome {
        metrics.record("failed")
        logger.error(
            "usage lost: redis failed and no spool is configured",
            metadata: [LoggingKeys.callID: "\(event.callID)", LoggingKeys.error: "\(error)"])
        return .failed(error)
    }

    private func spooled(_ event: SpooledEvent, _ result: Result<Void, SpoolError>) -> RecordOutcome {
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
    private func drain() async {
        var backoff = options.minimumBackoff
        while !Task.isCancelled {
            do {
                let result = try await flush()
                if result.applied + result.duplicates > 0 {
                    logger.info(
                        "spool replayed",
                        metadata: [LoggingKeys.applied: "\(result.applied)", LoggingKeys.duplicates: "\(result.duplicates)"])
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
    private func reportSpool(atMostEvery interval: Duration = .zero) {
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

import CoreMetrics
import Foundation
import Logging
import RedisClient
import ServiceLifecycle
import Synchronization

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
/// ``run()`` owns all background work: the spool flusher, the pipeline's lanes, the refresh of
/// stale namespace settings and the follow-ups of fire-and-forget records (a re-submit, a missing script, a history amendment). A graceful
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
        /// connections with threads of their own (`RedisPipelineClient`): the fast path
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
    let logger: Logger
    let trigger: AsyncStream<Void>.Continuation
    private let triggers: AsyncStream<Void>
    /// Follow-up work of fire-and-forget records, run by ``run()`` as child tasks.
    let work: AsyncStream<@Sendable () async -> Void>.Continuation
    private let workItems: AsyncStream<@Sendable () async -> Void>
    /// Asks ``run()`` to stop (``shutdown()``).
    private let stopRequest: AsyncStream<Void>.Continuation
    private let stopRequests: AsyncStream<Void>
    private let lifecycle = Mutex(Lifecycle.idle)
    /// Record (and settle) latency, from the call to its outcome.
    private let recordLatency: CoreMetrics.Timer
    let pipeline: RedisRoutedPipeline?
    /// Awaited records and settles in flight now (see `submit`).
    let awaitedInFlight = Atomic<Int>(0)
    /// Writes spooled events off the cooperative pool, several per fsync; `nil` without a spool.
    let spoolWriter: SpoolWriter?
    /// When the spool gauges were last recorded, and whether a trailing report is scheduled
    /// (see `reportSpool`).
    let spoolReports = Mutex<(last: ContinuousClock.Instant?, trailing: Bool)>((nil, false))
    /// One reload of a script the server lost, for fire-and-forget records that met `NOSCRIPT`.
    let scriptReload = ScriptReloadGate()

    /// Where ``run()`` is.
    private enum Lifecycle {
        case idle
        case running(waiters: [CheckedContinuation<Void, Never>])
        case finished
    }

    /// Creates a recorder. Nothing runs in the background until ``run()``, whose flusher first
    /// replays any spool an earlier process left.
    ///
    /// - Parameters:
    ///   - repository: Where events go first.
    ///   - spool: Where events go when Redis cannot take them in time; `nil` (default): nowhere, so a
    ///     record waits for Redis and fails with it.
    ///   - options: Bounds, backoff and the optional pipeline.
    ///   - metrics: Where records, their latency, the spool's size and Redis errors are counted (see
    ///     ``LedgerMetrics``), and what the pipeline's client, the callback handlers and the
    ///     ``QuotaGuard`` that use this recorder count.
    ///   - logger: By default nothing is logged.
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
            if let wait = repository.configuration.replicaWait {
                // A batch ends with one WAIT: the lane must read its reply before the read times
                // out, or the connection drops and a batch that applied reads as failed.
                configuration.commandTimeout = max(configuration.commandTimeout, wait.timeout + .milliseconds(500))
            }
            // Lanes per master on a Redis Cluster (each group is one user's slot), one set otherwise.
            self.pipeline = RedisRoutedPipeline(
                pool: repository.pool, options: pipelineOptions, laneConfiguration: configuration,
                metrics: metrics.factory)
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
        let event = await priced(
            SpooledEvent(
                operation: .record, user: user, callID: callID, usage: usage, model: model, provider: provider,
                cycle: cycle, at: instant, namespace: repository.keys.namespace))
        return await submit(event, spent: ContinuousClock.now - start)
    }

    /// Settles a call's reservation with its actual usage (see
    /// ``TokenRepository/settle(user:callID:usage:model:provider:at:)``). Never throws.
    public func settle(
        user: String, callID: String, usage: UsageRecord, model: String = "", provider: String = "",
        at instant: Date = Date()
    ) async -> RecordOutcome {
        let start = ContinuousClock.now
        defer { recordLatency.recordInterval(since: start) }
        let event = await priced(
            SpooledEvent(
                operation: .settle, user: user, callID: callID, usage: usage, model: model, provider: provider,
                at: instant, namespace: repository.keys.namespace))
        return await submit(event, spent: ContinuousClock.now - start)
    }

    /// Replays the spool now (also what the background flusher does).
    ///
    /// - Throws: the Redis error that stopped the replay; what was not replayed stays spooled.
    @discardableResult
    public func flush() async throws -> ReplayResult {
        guard let spool else { return ReplayResult() }
        let result = try await spool.replay { event in
            do {
                let outcome = try await self.apply(event, replaying: true)
                self.metrics.record("replayed")
                return outcome.applied ? .applied : .duplicate
            } catch let parked as ParkedWrite {
                // It could count twice: out of the spool, into the parked file, for an administrator.
                self.metrics.parked()
                return .parked(parked.message)
            } catch let conflict as CallConflict {
                // It can never apply: out of the spool (into its rejected file, with the reason),
                // so it neither retries forever nor holds back the events after it.
                self.metrics.record("conflict")
                return .rejected(conflict.message)
            } catch let error where Self.isRejection(error) {
                self.metrics.record("rejected")
                return .rejected((error as? ValidationError)?.message ?? "\(error)")
            } catch let error as LedgerError where error.code == .namespaceMismatch {
                // Another namespace's event: leave it spooled and go on with the others.
                return .otherNamespace(error.message)
            } catch let unreplicated as UnreplicatedWrite {
                // Applied but not acknowledged by enough replicas: it stays spooled for the next flush.
                self.metrics.unreplicated()
                throw unreplicated.error
            }
        }
        reportSpool()
        return result
    }

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
            background.addTask { await self.repository.refreshSettingsInBackground() }
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
    func later(_ item: @escaping @Sendable () async -> Void) {
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
                logger.info(
                    "spooled events stay on disk for the next process", metadata: [LoggingKeys.error: "\(error)"])
            }
        }
        spool?.close()
    }
}

import Foundation
import Logging
import RedisClient
import Synchronization

/// The accounting store: records usage, answers and enforces quotas, and reports, over Redis.
///
/// Every write is one Lua script (files in `Sources/TokenLedger/Scripts/`) over the keys of a single
/// user's hash tag, so each is atomic and cluster-safe. Recording is idempotent per (user, cycle,
/// call id): a retried or replayed event never counts twice.
///
/// The cycle a write lands in is computed here from the user's policy; the script checks that the
/// policy it was computed from is still the stored one and, if not, the write is retried with the
/// right cycle. So a policy change can never book usage into the wrong cycle.
///
/// ### Threading
/// `Sendable`; share one instance. All I/O goes through the ``RedisClient/RedisConnectionPool``.
public final class TokenRepository: Sendable {
    /// The pool this repository uses.
    public let pool: RedisConnectionPool
    /// The key builder for the namespace.
    public let keys: LedgerKeys
    /// Process-side settings.
    public let configuration: LedgerConfiguration
    let scripts: LedgerScripts
    let logger: Logger
    /// Counts what the repository itself does (late calls added to the history).
    let metrics: LedgerMetrics
    private let thresholdsArgument: String
    private let settingsCache = Mutex<(settings: Settings, expires: ContinuousClock.Instant)?>(nil)
    private let refreshing = Mutex(false)
    /// The stored policy override per user (`""` = none), as last seen. Only a hint: scripts verify it.
    private let policyHints = Mutex<[String: String]>([:])
    /// When this process last added each (cycle, user) to the derived index; saves an index write
    /// per record. The index is rebuildable, so a stale memory can only delay an entry, not lose data.
    private let indexed = Mutex<[IndexedUser: ContinuousClock.Instant]>([:])
    /// The cycle each policy's latest write fell in, to skip calendar arithmetic on the hot path.
    private let currentCycles = Mutex<[BillingCyclePolicy: BillingCycle]>([:])
    /// Whether the stored schema version was found to be one this build may write (see ``ensureWritableSchema()``).
    private let schemaWritable = Mutex(false)

    /// Namespace-wide settings stored in Redis.
    public struct Settings: Sendable, Hashable {
        /// The limit for users without one of their own; `nil` means unlimited.
        public var defaultLimit: Int?
        /// The cycle policy for users without one of their own.
        public var defaultPolicy: BillingCyclePolicy
    }

    /// Creates a repository.
    ///
    /// - Parameter metrics: Where `tokenledger_history_adjustments_total` is counted (default: the
    ///   process's bootstrapped `MetricsSystem`).
    /// - Throws: ``LedgerError`` when the Lua scripts are missing from the installation.
    public init(
        pool: RedisConnectionPool,
        configuration: LedgerConfiguration = try! LedgerConfiguration(),
        logger: Logger = Logger(label: "tokenledger", factory: { _ in SwiftLogNoOpLogHandler() }),
        metrics: LedgerMetrics = LedgerMetrics()
    ) throws(LedgerError) {
        self.pool = pool
        self.metrics = metrics
        self.configuration = configuration
        // The namespace was validated by LedgerConfiguration.
        self.keys = try! LedgerKeys(namespace: configuration.namespace)
        self.scripts = try LedgerScripts.shared.get()
        self.logger = logger
        self.thresholdsArgument = configuration.thresholds.map(String.init).joined(separator: ",")
    }

    // MARK: - Recording

    /// Records one call's usage for a user, once per call id.
    ///
    /// - Parameters:
    ///   - user: The user id (1–256 bytes of UTF-8, no control characters).
    ///   - callID: The call's id (1–128 bytes); a second record with the same id changes nothing.
    ///   - usage: The counts (each 0…10^12; subsets not above their parent).
    ///   - model: The model name (≤ 128 bytes; `""` when unknown).
    ///   - provider: The provider name (≤ 128 bytes; `""` when unknown).
    ///   - cycle: An explicit cycle start date, which wins over the user's policy.
    ///   - instant: The time of the call, which picks the cycle. Default now.
    /// - Returns: Whether it was applied (false: duplicate), with the cycle's new total.
    /// - Throws: ``ValidationError`` before anything is written; ``LedgerError``; ``RedisClient/RedisError``.
    public func record(
        user: String, callID: String, usage: UsageRecord, model: String = "", provider: String = "",
        cycle: CalendarDate? = nil, at instant: Date = Date()
    ) async throws -> RecordResult {
        try await write(
            .record, user: user, callID: callID, usage: usage, model: model, provider: provider, cycle: cycle, at: instant)
    }

    /// Replaces a call's reservation with its actual usage, exactly once. With no live lease the
    /// usage is still recorded: the call happened.
    ///
    /// - Throws: as ``record(user:callID:usage:model:provider:cycle:at:)``.
    public func settle(
        user: String, callID: String, usage: UsageRecord, model: String = "", provider: String = "",
        at instant: Date = Date()
    ) async throws -> RecordResult {
        try await write(
            .settle, user: user, callID: callID, usage: usage, model: model, provider: provider, cycle: nil, at: instant)
    }

    /// Record or settle: validate, then run the script at the cycle the user's policy gives
    /// (retrying with the stored policy if the assumed one was stale).
    private func write(
        _ operation: SpooledEvent.Operation, user: String, callID: String, usage: UsageRecord, model: String,
        provider: String, cycle: CalendarDate?, at instant: Date
    ) async throws -> RecordResult {
        try Self.validateRecord(user: user, callID: callID, usage: usage, model: model, provider: provider)
        try Validation.validateEventInstant(instant)
        let settings = try await settings()
        try await ensureWritableSchema()  // no round trip once settings() found it writable
        let result = try await withCycle(user: user, explicit: cycle, at: instant, settings: settings) { target, assumed in
            let calls = recordCalls(
                operation, user: user, callID: callID, usage: usage, model: model, cycle: target, assumed: assumed,
                settings: settings)
            let replies = try await pool.evaluateMany(calls)
            return try recordOutcome(replies, user: user, cycle: target.start)
        }
        if result.amendsHistory { await amendHistoryNow(user: user, cycle: result.cycle) }
        return result
    }

    // MARK: - Quota

    /// Whether the user may spend `tokens` more in the current cycle. Read-only.
    ///
    /// - Throws: ``ValidationError``; ``RedisClient/RedisError``.
    public func check(user: String, tokens: Int = 0, at instant: Date = Date()) async throws -> QuotaDecision {
        try Validation.validateUserID(user)
        try Validation.validateTokenCount(tokens, field: "tokens")
        let userKeys = try keys.user(user)
        let settings = try await settings()
        return try await withCycle(user: user, explicit: nil, at: instant, settings: settings) { target, assumed in
            let carried = try carriedCycleKeys(user: user, assumed: assumed, target: target.start, at: instant)
            let reply = try await pool.evaluate(
                scripts.check,
                keys: [
                    userKeys.profile, userKeys.cycle(target.start), userKeys.leases, userKeys.leaseExpiry, userKeys.reserved,
                ] + carried,
                arguments: [assumed, tokens, Self.limitArgument(settings.defaultLimit)])
            let values = try policyOrValues(reply, user: user)
            guard case .values(let fields) = values else { return .retry(values.storedPolicy) }
            let numbers = try Self.integers(fields, count: 4, what: "check")
            return .done(
                QuotaDecision(
                    allowed: numbers[0] == 1, user: user, cycle: target.start, used: numbers[1], reserved: numbers[2],
                    limit: numbers[3] < 0 ? nil : numbers[3], requested: tokens))
        }
    }

    /// Takes a lease of `tokens` for a call if `used + reserved + tokens ≤ limit`, atomically.
    /// Idempotent per call id: a retry with the same amount while the lease is live changes nothing
    /// and is `held`; a retry with a different amount is a conflict (nothing changes).
    ///
    /// - Parameters:
    ///   - ttl: How long the lease lives if never settled or released (default from the configuration);
    ///     1 ms to ``Validation/maximumLeaseTTL`` (7 days).
    ///   - instant: The time of the call (2000-01-01 to before 9999-01-01; see ``Validation/validateEventInstant(_:field:)``).
    /// - Throws: ``ValidationError`` (``ValidationError/Code/reservationConflict`` naming both amounts when
    ///   the call id holds a lease of another amount); ``LedgerError`` (``LedgerError/Code/newerSchema``);
    ///   ``RedisClient/RedisError``.
    public func reserve(
        user: String, callID: String, tokens: Int, ttl: Duration? = nil, at instant: Date = Date()
    ) async throws -> Reservation {
        try Validation.validateUserID(user)
        try Validation.validateCallID(callID)
        try Validation.validateTokenCount(tokens, field: "tokens")
        try Validation.validateEventInstant(instant)
        let ttlMilliseconds = try Validation.leaseTTLMilliseconds(ttl ?? configuration.defaultLeaseTTL)
        let userKeys = try keys.user(user)
        let settings = try await settings()
        try await ensureWritableSchema()  // no round trip once settings() found it writable
        return try await withCycle(user: user, explicit: nil, at: instant, settings: settings) { target, assumed in
            let carried = try carriedCycleKeys(user: user, assumed: assumed, target: target.start, at: instant)
            let reply = try await pool.evaluate(
                scripts.reserve,
                keys: [
                    userKeys.profile, userKeys.cycle(target.start), userKeys.calls(target.start), userKeys.leases,
                    userKeys.leaseExpiry, userKeys.reserved,
                ] + carried,
                arguments: [assumed, callID, tokens, ttlMilliseconds, Self.limitArgument(settings.defaultLimit)])
            guard let fields = reply.array, let status = fields.first?.string else {
                throw Self.unexpected(reply, what: "reserve")
            }
            if status == "policy" { return .retry(fields.count > 1 ? fields[1].string ?? "" : "") }
            if status == "conflict" {
                let held = fields.count > 4 ? fields[4].string ?? "another amount of" : "another amount of"
                throw ValidationError(
                    code: .reservationConflict, field: "tokens",
                    message: "call id \(ValidationError.quoted(callID)) of user \(ValidationError.quoted(user)) already holds "
                        + "a reservation of \(held) tokens, not \(tokens); a retry must ask for the same amount "
                        + "(or release the lease first, or use a new call id)")
            }
            guard let reservation = ReservationStatus(rawValue: status) else { throw Self.unexpected(reply, what: "reserve") }
            let numbers = try Self.integers(Array(fields.dropFirst()), count: 3, what: "reserve")
            let decision = QuotaDecision(
                allowed: reservation != .denied, user: user, cycle: target.start, used: numbers[0],
                reserved: numbers[1], limit: numbers[2] < 0 ? nil : numbers[2], requested: tokens)
            return .done(Reservation(status: reservation, decision: decision))
        }
    }

    /// Drops a call's lease without recording usage (the call failed or was cancelled).
    ///
    /// - Returns: The tokens released (0 when the call held no live lease).
    public func release(user: String, callID: String) async throws -> Int {
        try Validation.validateUserID(user)
        try Validation.validateCallID(callID)
        let userKeys = try keys.user(user)
        try await ensureWritableSchema()
        let reply: RedisReply
        do {
            reply = try await pool.evaluate(
                scripts.release, keys: [userKeys.reserved, userKeys.leases, userKeys.leaseExpiry], arguments: [callID])
        } catch let error as RedisError where error.serverCode == "BADSTATE" {
            throw Self.corruptState(error)
        }
        guard let fields = reply.array else { throw Self.unexpected(reply, what: "release") }
        return try Self.integers(fields, count: 2, what: "release")[0]
    }

    // MARK: - Reading

    /// One user's usage in a cycle (the current one by default).
    public func usage(user: String, cycle: CalendarDate? = nil, at instant: Date = Date()) async throws -> UserUsage {
        try await usage(user: user, cycle: cycle, at: instant, lenient: false)
    }

    /// ``usage(user:cycle:at:)``; with `lenient`, counters that are not non-negative integers are
    /// skipped instead of refused (for `reset`, the remedy for such a cycle, whose audit entry keeps
    /// what could be read).
    func usage(user: String, cycle: CalendarDate?, at instant: Date, lenient: Bool) async throws -> UserUsage {
        try Validation.validateUserID(user)
        let userKeys = try keys.user(user)
        let settings = try await settings()
        return try await withCycle(user: user, explicit: cycle, at: instant, settings: settings) { target, assumed in
            let reply: RedisReply
            do {
                reply = try await pool.evaluate(
                    scripts.usage,
                    keys: [
                        userKeys.profile, userKeys.cycle(target.start), userKeys.leases, userKeys.leaseExpiry, userKeys.reserved,
                    ],
                    arguments: [assumed, Self.limitArgument(settings.defaultLimit)])
            } catch let error as RedisError where error.serverCode == "WRONGTYPE" {
                // Stored data another program wrote: reported, never read as 0 (SPEC "Bad input").
                throw LedgerError(
                    code: .corruptData,
                    message: "a key of user '\(user)' for cycle \(target.start) holds the wrong type of value "
                        + "(\(userKeys.cycle(target.start)) must be a hash, \(userKeys.reserved) a number)")
            }
            let values = try policyOrValues(reply, user: user)
            guard case .values(let fields) = values else { return .retry(values.storedPolicy) }
            return .done(try makeUsage(user: user, cycle: target.start, fields: fields, settings: settings, lenient: lenient))
        }
    }

    /// Every user with usage in a cycle (by default the default policy's current cycle).
    ///
    /// - Parameters:
    ///   - top: Keep only the first `top` users after sorting.
    ///   - sort: The order (largest first); ties by user id.
    ///   - progress: Called after each batch with (users read, users in the index), for long reports.
    public func report(
        cycle: CalendarDate? = nil, top: Int? = nil, sort: ReportSort = .total, at instant: Date = Date(),
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) async throws -> UsageReport {
        if let top, top < 0 {
            throw ValidationError(code: .invalidLimit, field: "top", message: "--top must be 0 or more, not \(top)")
        }
        let settings = try await settings()
        let cycleStart = cycle ?? settings.defaultPolicy.cycle(containing: instant).start
        let users = try await indexedUsers(cycleStart)

        // Phase 1: every user's counters (one HMGET and one GET each, pipelined, several batches in
        // flight), for the totals and the order.
        struct Counters: Sendable {
            var user: String
            var values: [Int]  // input, output, calls, cached, cache write, reasoning, reserved
            /// Why the user's stored values cannot be read (a wrong type, a non-numeric or negative counter).
            var unreadable: String?
        }
        let fields = ["input_tokens", "output_tokens", "calls", "cached_input_tokens", "cache_write_tokens", "reasoning_tokens"]
        let batchSize = 2000
        let batches = stride(from: 0, to: users.count, by: batchSize).map { Array(users[$0..<min($0 + batchSize, users.count)]) }
        var counters: [Counters] = []
        counters.reserveCapacity(users.count)
        var read = 0
        try await withThrowingTaskGroup(of: (Int, [Counters]).self) { group in
            var nextBatch = 0
            func startBatch() throws {
                let index = nextBatch
                let batch = batches[index]
                nextBatch += 1
                var commands: [RedisCommand] = []
                commands.reserveCapacity(batch.count * 2)
                for user in batch {
                    let userKeys = try keys.user(user)
                    commands.append(RedisCommand("HMGET", [userKeys.cycle(cycleStart)] + fields))
                    commands.append(RedisCommand("GET", userKeys.reserved))
                }
                group.addTask {
                    let replies = try await self.pool.pipeline(commands)
                    var result: [Counters] = []
                    result.reserveCapacity(batch.count)
                    for (offset, user) in batch.enumerated() {
                        do {
                            let values = try self.reportCounters(
                                user: user, cycle: cycleStart, fields: fields, hash: replies[offset * 2],
                                reserved: replies[offset * 2 + 1])
                            result.append(Counters(user: user, values: values))
                        } catch {
                            result.append(Counters(user: user, values: [], unreadable: (error as? LedgerError)?.message ?? "\(error)"))
                        }
                    }
                    return (index, result)
                }
            }
            for _ in 0..<min(4, batches.count) { try startBatch() }
            var parts = [[Counters]](repeating: [], count: batches.count)
            for try await (index, part) in group {
                parts[index] = part
                read += part.count
                progress?(read, users.count)
                if nextBatch < batches.count { try startBatch() }
            }
            counters = parts.flatMap { $0 }
        }
        var totals = UsageReport.Totals()
        var unreadable: [UsageReport.UnreadableUser] = []
        var ranked: [(user: String, key: Int)] = []
        var shownValues: [String: [Int]] = [:]
        ranked.reserveCapacity(counters.count)
        for entry in counters {
            if let reason = entry.unreadable {
                unreadable.append(UsageReport.UnreadableUser(user: entry.user, reason: reason))
                continue
            }
            let v = entry.values
            // A user indexed for a cycle with no counters (a reset, a write that failed) is not shown.
            if v[0] == 0 && v[1] == 0 && v[2] == 0 { continue }
            // Each value is at most 2^53 - 1 (checked in reportCounters), so sums over 1000 users are exact.
            if let reason = totals.adding(v) {
                unreadable.append(UsageReport.UnreadableUser(user: entry.user, reason: reason))
                continue
            }
            let key: Int
            switch sort {
            case .total: key = v[0] + v[1]
            case .input: key = v[0]
            case .output: key = v[1]
            }
            ranked.append((entry.user, key))
            shownValues[entry.user] = v
        }
        ranked.sort { $0.key != $1.key ? $0.key > $1.key : $0.user < $1.user }
        if let top, ranked.count > top { ranked.removeSubrange(top...) }

        // Phase 2: the shown users' full usage (limit, live reservations, per-model split).
        var rows: [UserUsage] = []
        rows.reserveCapacity(ranked.count)
        for start in stride(from: 0, to: ranked.count, by: 1000) {
            let batch = ranked[start..<min(start + 1000, ranked.count)].map(\.user)
            let calls = try batch.map { user in try usageCall(user: user, cycle: cycleStart, settings: settings) }
            let replies = try await pool.withConnection { try await $0.evaluateMany(calls) }
            for (user, reply) in zip(batch, replies) {
                do {
                    // An explicit cycle ("*") never gets a policy reply; anything else is unexpected.
                    guard case .values(let fields) = try policyOrValues(reply, user: user) else {
                        throw Self.unexpected(reply, what: "usage")
                    }
                    rows.append(try makeUsage(user: user, cycle: cycleStart, fields: fields, settings: settings))
                } catch let error as LedgerError where error.code == .corruptData {
                    // Its counters were readable, the rest (per-model counters, limit, leases) is not:
                    // take it out of the totals and list it.
                    if let values = shownValues[user] { totals.subtract(values) }
                    unreadable.append(UsageReport.UnreadableUser(user: user, reason: error.message))
                } catch let error as RedisError where error.code == .server {
                    if let values = shownValues[user] { totals.subtract(values) }
                    unreadable.append(
                        UsageReport.UnreadableUser(user: user, reason: "its stored data cannot be read: \(error.message)"))
                }
            }
        }
        unreadable.sort { $0.user < $1.user }
        return UsageReport(cycle: cycleStart, users: rows, totals: totals, unreadable: unreadable)
    }

    /// One user's phase-1 report counters (input, output, calls, cached, cache write, reasoning,
    /// reserved) from its `HMGET` and `GET` replies: each absent (0) or a non-negative integer up to
    /// 2^53 − 1, else a ``LedgerError`` (``LedgerError/Code/corruptData``) naming the key and field.
    private func reportCounters(
        user: String, cycle: CalendarDate, fields: [String], hash: RedisReply, reserved: RedisReply
    ) throws(LedgerError) -> [Int] {
        // The user came from the index, which only holds valid user ids.
        let userKeys = try? keys.user(user)
        let cycleKey = userKeys?.cycle(cycle) ?? "user '\(user)' cycle \(cycle)"
        if case .error(let error) = hash {
            throw LedgerError(code: .corruptData, message: "\(cycleKey) cannot be read as a hash (\(error.serverCode ?? "error"))")
        }
        guard let replies = hash.array, replies.count == fields.count else {
            throw LedgerError(code: .corruptData, message: "\(cycleKey) cannot be read as a hash")
        }
        var values: [Int] = []
        values.reserveCapacity(fields.count + 1)
        for (field, reply) in zip(fields, replies) {
            if case .null = reply {
                values.append(0)
                continue
            }
            let value = try TokenCounts.storedCounter(reply, key: cycleKey, field: field)
            guard value <= Validation.maximumLimit else {
                throw LedgerError(code: .corruptData, message: "\(cycleKey) field \(field) is \(value), beyond 2^53 - 1")
            }
            values.append(value)
        }
        let reservedKey = userKeys?.reserved ?? "user '\(user)' reserved"
        if case .null = reserved {
            values.append(0)
        } else if case .error(let error) = reserved {
            throw LedgerError(code: .corruptData, message: "\(reservedKey) cannot be read as a number (\(error.serverCode ?? "error"))")
        } else {
            let value = try TokenCounts.storedCounter(reserved, key: reservedKey, field: "value")
            guard value <= Validation.maximumLimit else {
                throw LedgerError(code: .corruptData, message: "\(reservedKey) is \(value), beyond 2^53 - 1")
            }
            values.append(value)
        }
        return values
    }

    /// Rebuilds a cycle's cross-user index from the per-user keys (SCAN), adding missing users.
    ///
    /// - Returns: The number of users found.
    @discardableResult
    public func rebuildIndex(cycle: CalendarDate) async throws -> Int {
        var cursor = "0"
        var found = 0
        repeat {
            let reply = try await pool.send(RedisCommand("SCAN", cursor, "MATCH", keys.cyclePattern(cycle), "COUNT", 1000))
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let names = parts[1].array else {
                throw Self.unexpected(reply, what: "SCAN")
            }
            cursor = next
            let users = names.compactMap { $0.string.flatMap(keys.userID(fromKey:)) }
            if !users.isEmpty {
                _ = try await pool.evaluateMany([indexCall(cycle, users: users)])[0].throwingError()
                found += users.count
            }
        } while cursor != "0"
        return found
    }

    // MARK: - Limits, policies, reset

    /// Sets a user's own limit, which persists across cycles.
    public func setLimit(user: String, tokens: Int) async throws {
        try Validation.validateUserID(user)
        try Validation.validateLimit(tokens)
        try await ensureWritableSchema()
        _ = try await pool.evaluate(scripts.profile, keys: [try keys.user(user).profile], arguments: ["limit", tokens])
    }

    /// Removes a user's own limit (the default limit applies again).
    public func clearLimit(user: String) async throws {
        try Validation.validateUserID(user)
        try await ensureWritableSchema()
        _ = try await pool.evaluate(scripts.profile, keys: [try keys.user(user).profile], arguments: ["limit", ""])
    }

    /// A user's own limit and the default limit (`nil`: none).
    public func limit(user: String) async throws -> (own: Int?, default: Int?) {
        try Validation.validateUserID(user)
        let profile = try keys.user(user).profile
        let reply = try await pool.send(RedisCommand("HGET", profile, "limit"))
        let settings = try await settings(fresh: true)
        // A stored limit that is not a number is reported, never read as "no limit of its own".
        if let text = reply.string, !text.isEmpty {
            guard let limit = reply.int, limit >= 0 else {
                throw LedgerError(code: .corruptData, message: "\(profile) limit is '\(text.prefix(40))', not a non-negative integer")
            }
            return (Int(limit), settings.defaultLimit)
        }
        return (nil, settings.defaultLimit)
    }

    /// Sets (or with `nil` clears) the limit for users without one of their own.
    public func setDefaultLimit(_ tokens: Int?) async throws {
        if let tokens { try Validation.validateLimit(tokens, field: "default limit") }
        try await setSetting("default_limit", tokens.map(String.init) ?? "")
    }

    /// Sets (or with `nil` clears) a user's own cycle policy.
    ///
    /// A change never starts a fresh quota: when the cycle running at `instant` under the previous
    /// policy is not the new policy's cycle, its usage keeps counting against the user's limit
    /// (check and reserve) until it ends (a *carry*, stored with the policy; see
    /// `docs/operations.md`, changing a cycle policy). Usage is still booked to the new policy's cycles.
    ///
    /// - Parameter instant: When the change happens (picks the running cycles). Default now.
    public func setCyclePolicy(user: String, policy: BillingCyclePolicy?, at instant: Date = Date()) async throws {
        try Validation.validateUserID(user)
        let profile = try keys.user(user).profile
        let settings = try await settings(fresh: true)
        let before = try await pool.send(RedisCommand("HGET", profile, "policy")).throwingError().string ?? ""
        let previous = try StoredPolicy.decode(before, user: user)
        let oldCycle = (previous.policy ?? settings.defaultPolicy).cycle(containing: instant)
        let newCycle = (policy ?? settings.defaultPolicy).cycle(containing: instant)
        var carries = previous.carries.filter { carry in carry.untilInstant.map { instant < $0 } ?? false }
        if oldCycle.start != newCycle.start && !carries.contains(where: { $0.cycle == oldCycle.start }) {
            carries.append(PolicyCarry(cycle: oldCycle.start, until: ISO8601Instant.format(oldCycle.endInstant)))
        }
        carries.removeAll { $0.cycle == newCycle.start }
        let encoded = try StoredPolicy(policy: policy, carries: carries).encoded()
        try await ensureWritableSchema()
        _ = try await pool.evaluate(scripts.profile, keys: [profile], arguments: ["policy", encoded])
        policyHints.withLock { $0[user] = encoded }
    }

    /// A user's cycle policy and whether it is their own (else it is the default).
    public func cyclePolicy(user: String) async throws -> (policy: BillingCyclePolicy, isOverride: Bool) {
        try Validation.validateUserID(user)
        let stored = try await pool.send(RedisCommand("HGET", try keys.user(user).profile, "policy")).string ?? ""
        let settings = try await settings(fresh: true)
        guard let policy = try StoredPolicy.decode(stored, user: user).policy else { return (settings.defaultPolicy, false) }
        return (policy, true)
    }

    /// Sets (or with `nil` resets to monthly, UTC) the policy for users without one of their own.
    public func setDefaultCyclePolicy(_ policy: BillingCyclePolicy?) async throws {
        try await setSetting("default_policy", try policy.map(Self.encodePolicy) ?? "")
    }

    /// Zeroes a user's counters for a cycle (the current one by default), keeping the limit, the
    /// policy and the recorded call ids, and appends an audit event with the previous values.
    ///
    /// A cycle with nothing recorded (a user who never recorded in it) is left alone: no key and no
    /// audit event is written. A cycle rollover closed stays closed (a later call amends its history).
    ///
    /// - Parameter actor: Who or what asked (kept in the audit event).
    /// - Returns: The usage as it was before the reset (no calls and no tokens: nothing was reset).
    public func reset(
        user: String, cycle: CalendarDate? = nil, at instant: Date = Date(), actor: String = "tokenledger"
    ) async throws -> UserUsage {
        try Validation.validateUserID(user)
        try await ensureWritableSchema()
        // Lenient: reset is how an administrator repairs a cycle whose counters are corrupt.
        let before = try await usage(user: user, cycle: cycle, at: instant, lenient: true)
        let userKeys = try keys.user(user)
        _ = try await pool.evaluate(
            scripts.reset, keys: [userKeys.cycle(before.cycle), userKeys.events],
            arguments: [user, before.cycle.description, actor])
        return before
    }

    /// The user's event stream (threshold and reset events), oldest first, as field dictionaries.
    ///
    /// - Parameter count: The most events to return: 1…100 000.
    public func events(user: String, count: Int = 100) async throws -> [[String: String]] {
        try Validation.validateUserID(user)
        guard (1...100_000).contains(count) else {
            throw ValidationError(code: .invalidLimit, field: "count", message: "count is \(count); it must be from 1 to 100000")
        }
        let reply = try await pool.send(RedisCommand("XRANGE", try keys.user(user).events, "-", "+", "COUNT", count))
        guard let entries = reply.array else { throw Self.unexpected(reply, what: "XRANGE") }
        return entries.compactMap { entry in
            guard let parts = entry.array, parts.count == 2, let fields = parts[1].array else { return nil }
            var event: [String: String] = ["id": parts[0].string ?? ""]
            for pair in stride(from: 0, to: fields.count - 1, by: 2) {
                event[fields[pair].string ?? ""] = fields[pair + 1].string ?? ""
            }
            return event
        }
    }

    /// The namespace-wide settings, re-read from Redis when the cache is older than
    /// ``LedgerConfiguration/settingsCacheTTL`` or when `fresh` is true.
    public func settings(fresh: Bool = false) async throws -> Settings {
        let now = ContinuousClock.now
        if !fresh, let cached = settingsCache.withLock({ $0 }), cached.expires > now { return cached.settings }
        let configRead = RedisCommand("HMGET", keys.config, "default_limit", "default_policy")
        let reply: RedisReply
        if schemaKnownWritable {
            reply = try await pool.send(configRead)
        } else {
            // Until the schema version was found writable, read it in the same round trip, so the
            // writers' check (ensureWritableSchema) costs nothing extra; a newer one is not an error
            // here (reads still work), writers refuse it.
            let replies = try await pool.pipeline([configRead, RedisCommand("GET", keys.schema)])
            reply = replies[0]
            if let text = replies[1].string, let version = Int(text), version <= LedgerKeys.schemaVersion {
                schemaWritable.withLock { $0 = true }
            } else if case .null = replies[1] {
                schemaWritable.withLock { $0 = true }
            }
        }
        guard let fields = reply.array, fields.count == 2 else { throw Self.unexpected(reply, what: "HMGET config") }
        var settings = Settings(defaultLimit: nil, defaultPolicy: .default)
        if let text = fields[0].string {
            guard let limit = Int(text) else {
                throw LedgerError(code: .corruptData, message: "\(keys.config) default_limit is '\(text)', not a number")
            }
            settings.defaultLimit = limit
        }
        if let text = fields[1].string, !text.isEmpty {
            settings.defaultPolicy = try Self.decodePolicy(text, user: nil)
        }
        settingsCache.withLock { $0 = (settings, now + configuration.settingsCacheTTL) }
        return settings
    }

    /// Refuses to write into a namespace whose schema is newer than this build understands (only
    /// `migrate` looked before): every writer calls it. The stored version is read once per
    /// repository; once it was found writable the answer is cached, so the hot path pays one lock read.
    ///
    /// - Throws: ``LedgerError`` with code ``LedgerError/Code/newerSchema`` (a sentence naming both
    ///   versions) or ``LedgerError/Code/corruptData``; ``RedisClient/RedisError``.
    public func ensureWritableSchema() async throws {
        if schemaWritable.withLock({ $0 }) { return }
        let reply = try await pool.send(RedisCommand("GET", keys.schema))
        if let text = reply.string {
            guard let version = Int(text) else {
                throw LedgerError(code: .corruptData, message: "\(keys.schema) is '\(text)', not a schema version number")
            }
            if version > LedgerKeys.schemaVersion {
                throw LedgerError(
                    code: .newerSchema,
                    message: "namespace '\(keys.namespace)' has schema version \(version), newer than this build's "
                        + "\(LedgerKeys.schemaVersion); nothing was written: upgrade tokenledger before writing to it")
            }
        } else if case .error(let error) = reply {
            throw error
        }
        schemaWritable.withLock { $0 = true }
    }

    /// Whether ``ensureWritableSchema()`` already found the schema writable (never waits).
    var schemaKnownWritable: Bool { schemaWritable.withLock { $0 } }

    /// The SHA-1 of every Lua script by its file name (`record`, `reserve`, …), as `EVALSHA` uses it.
    public var scriptDigests: [String: String] { scripts.all.mapValues(\.sha1) }

    /// The namespace settings for a hot path: the cached ones, even if older than the TTL (a refresh
    /// then starts in the background), so a record never waits on this read once one succeeded.
    func settingsWithoutWaiting() async throws -> Settings {
        if let cached = cachedSettings() { return cached }
        return try await settings()
    }

    /// The cached namespace settings, however old (starting a background refresh when they are past
    /// the TTL), or `nil` before the first read. Never waits.
    func cachedSettings() -> Settings? {
        guard let cached = settingsCache.withLock({ $0 }) else { return nil }
        if cached.expires <= ContinuousClock.now, refreshing.withLock({ busy in defer { busy = true }; return !busy }) {
            Task {
                _ = try? await self.settings(fresh: true)
                self.refreshing.withLock { $0 = false }
            }
        }
        return cached.settings
    }

    // MARK: - Internals

    /// The read-only snapshot call for one user's explicit cycle (usage.lua), as report and
    /// rollover read many users in one pipeline.
    func usageCall(user: String, cycle: CalendarDate, settings: Settings) throws -> RedisScriptCall {
        let userKeys = try keys.user(user)
        return RedisScriptCall(
            scripts.usage,
            keys: [userKeys.profile, userKeys.cycle(cycle), userKeys.leases, userKeys.leaseExpiry, userKeys.reserved],
            arguments: ["*", Self.limitArgument(settings.defaultLimit)])
    }

    private func setSetting(_ field: String, _ value: String) async throws {
        try await ensureWritableSchema()
        _ = try await pool.evaluate(
            scripts.config, keys: [keys.config, keys.schema], arguments: [field, value, LedgerKeys.schemaVersion])
        settingsCache.withLock { $0 = nil }
    }

    private func indexCall(_ cycle: CalendarDate, users: [String]) -> RedisScriptCall {
        RedisScriptCall(
            scripts.index, keys: [keys.index(cycle), keys.indexedCycles], arguments: [cycle.description] + users)
    }

    private func indexedUsers(_ cycle: CalendarDate) async throws -> [String] {
        var users: [String] = []
        var cursor = "0"
        repeat {
            let reply = try await pool.send(RedisCommand("SSCAN", keys.index(cycle), cursor, "COUNT", 10_000))
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let members = parts[1].array else {
                throw Self.unexpected(reply, what: "SSCAN")
            }
            cursor = next
            users.append(contentsOf: members.compactMap(\.string))
        } while cursor != "0"
        return users
    }

    /// The script calls that record (or settle) one call's usage at `cycle`: the record script and,
    /// unless this process indexed the user for that cycle within the last minute, the index script.
    /// Usage is assumed valid (``validateRecord(user:callID:usage:model:provider:)``); the provider
    /// is not aggregated, so it is not an argument.
    func recordCalls(
        _ operation: SpooledEvent.Operation, user: String, callID: String, usage: UsageRecord, model: String,
        cycle: BillingCycle, assumed: String, settings: Settings
    ) -> [RedisScriptCall] {
        // The user id was validated, so building its keys cannot fail.
        let userKeys = try! keys.user(user)
        let name = cycle.name  // formatted once for both keys and the argument
        var keyList: [any RedisArgumentConvertible] = [
            userKeys.profile, userKeys.cycle(named: name), userKeys.calls(named: name), userKeys.events,
        ]
        if operation == .settle { keyList += [userKeys.leases, userKeys.leaseExpiry, userKeys.reserved] }
        keyList.append(userKeys.late(named: name))
        let arguments: [any RedisArgumentConvertible] =
            [assumed] + Self.usageArguments(callID, usage, model)
            + [Self.limitArgument(settings.defaultLimit), thresholdsArgument, user, name]
        var calls = [RedisScriptCall(operation == .settle ? scripts.settle : scripts.record, keys: keyList, arguments: arguments)]
        if !recentlyIndexed(user: user, cycle: cycle.start) { calls.append(indexCall(cycle.start, users: [user])) }
        return calls
    }

    /// The cycle a write for `user` goes to now, and the policy assumed for it (`*` for an explicit cycle).
    func resolveCycle(user: String, explicit: CalendarDate?, at instant: Date, settings: Settings) throws -> (BillingCycle, String) {
        let hint = policyHints.withLock { $0[user] } ?? ""
        let policy = try Self.policy(stored: hint, user: user, settings: settings)
        if let explicit {
            let target = policy.cycle(startingOn: explicit)
            try Self.checkDateRange(target)
            return (target, "*")
        }
        // Most writes fall in the cycle the previous write of the same policy fell in.
        if let cached = currentCycles.withLock({ $0[policy] }), cached.contains(instant) { return (cached, hint) }
        let target = policy.cycle(containing: instant)
        try Self.checkDateRange(target)
        currentCycles.withLock { cycles in
            if cycles.count > 1000 { cycles.removeAll(keepingCapacity: true) }
            cycles[policy] = target
        }
        return (target, hint)
    }

    /// Remembers the stored policy a script reported, so the next write computes the right cycle.
    func notePolicy(user: String, stored: String) {
        policyHints.withLock { hints in
            if hints.count > 100_000 { hints.removeAll(keepingCapacity: true) }
            hints[user] = stored
        }
    }

    private func recentlyIndexed(user: String, cycle: CalendarDate) -> Bool {
        let now = ContinuousClock.now
        return indexed.withLock { $0[IndexedUser(cycle: cycle, user: user)].map { now - $0 < Self.indexMemory } ?? false }
    }

    private func noteIndexed(user: String, cycle: CalendarDate) {
        let now = ContinuousClock.now
        indexed.withLock { memory in
            if memory.count > 200_000 { memory.removeAll(keepingCapacity: true) }
            memory[IndexedUser(cycle: cycle, user: user)] = now
        }
    }

    /// A (cycle, user) pair in the index memory.
    private struct IndexedUser: Hashable {
        var cycle: CalendarDate
        var user: String
    }

    /// How long this process trusts that a user it indexed for a cycle is still in the index.
    static let indexMemory: Duration = .seconds(60)

    /// What one attempt of a cycle-dependent script produced.
    enum Attempt<T: Sendable>: Sendable {
        case done(T)
        /// The stored policy differed from the assumed one; here is the stored one.
        case retry(String)
    }

    /// Runs `body` with the cycle computed from the user's policy (or the explicit cycle), and again
    /// with the stored policy when the script reports that the assumed one was stale.
    private func withCycle<T>(
        user: String, explicit: CalendarDate?, at instant: Date, settings: Settings,
        _ body: (BillingCycle, String) async throws -> Attempt<T>
    ) async throws -> T {
        for _ in 0..<4 {
            let (target, assumed) = try resolveCycle(user: user, explicit: explicit, at: instant, settings: settings)
            let attempt: Attempt<T>
            do {
                attempt = try await body(target, assumed)
            } catch let error as RedisError where error.serverCode == "BADSTATE" {
                throw Self.corruptState(error)
            }
            switch attempt {
            case .done(let value):
                return value
            case .retry(let stored):
                notePolicy(user: user, stored: stored)
            }
        }
        throw LedgerError(code: .policyChanged, message: "the cycle policy of user '\(user)' kept changing; try again")
    }

    private enum PolicyOrValues {
        case values([RedisReply])
        case policy(String)
        var storedPolicy: String {
            if case .policy(let p) = self { return p }
            return ""
        }
    }

    private func policyOrValues(_ reply: RedisReply, user: String) throws -> PolicyOrValues {
        guard let fields = reply.array, let first = fields.first else { throw Self.unexpected(reply, what: "script") }
        if first.string == "policy" { return .policy(fields.count > 1 ? fields[1].string ?? "" : "") }
        if first.string == "ok" { return .values(Array(fields.dropFirst())) }
        return .values(fields)
    }

    /// Reads the replies of ``recordCalls(_:user:callID:usage:model:cycle:assumed:settings:)``.
    func recordOutcome(_ replies: [RedisReply], user: String, cycle: CalendarDate) throws -> Attempt<RecordResult> {
        let reply = replies[0]
        if case .error(let error) = reply {
            if error.serverCode == "OVERFLOW" {
                throw LedgerError(code: .overflow, message: "user '\(user)' cycle \(cycle): \(error.message)")
            }
            if error.serverCode == "BADINPUT" {
                throw ValidationError(code: .invalidTokenCount, field: "usage", message: error.message)
            }
            if error.serverCode == "BADSTATE" { throw Self.corruptState(error) }
            throw error
        }
        guard let fields = reply.array, let status = fields.first?.string else {
            throw Self.unexpected(reply, what: "record")
        }
        if status == "policy" { return .retry(fields.count > 1 ? fields[1].string ?? "" : "") }
        if status == "retired" {
            throw LedgerError(
                code: .cycleRetired,
                message: "user '\(user)' cycle \(cycle) is past retention (its counters and call ids were deleted); "
                    + "the event was not applied, so it cannot count twice: an administrator must book it by hand")
        }
        let numbers = try Self.integers(Array(fields.dropFirst()), count: fields.count - 1, what: "record")
        if replies.count > 1, case .integer = replies[1] { noteIndexed(user: user, cycle: cycle) }
        var result = RecordResult(
            applied: status == "applied" || status == "late", user: user, cycle: cycle, totalTokens: numbers[0],
            calls: numbers[1], releasedTokens: numbers.count > 2 ? numbers[2] : 0)
        result.amendsHistory = status == "late"
        return .done(result)
    }

    private func makeUsage(
        user: String, cycle: CalendarDate, fields: [RedisReply], settings: Settings, lenient: Bool = false
    ) throws -> UserUsage {
        guard fields.count >= 3, let limit = fields[0].int, let reserved = fields[1].int, let hash = fields[2].array else {
            throw Self.unexpected(.array(fields), what: "usage")
        }
        let storedPolicy = fields.count > 3 ? fields[3].string ?? "" : ""
        let policy = try Self.policy(stored: storedPolicy, user: user, settings: settings)
        let target = policy.cycle(startingOn: cycle)
        try Self.checkDateRange(target)
        var usage = UserUsage(
            user: user, cycle: cycle, cycleEnd: target.end,
            limit: limit < 0 ? nil : Int(limit), reserved: Int(reserved))
        let key = try keys.user(user).cycle(cycle)
        guard reserved >= 0 || lenient else {
            throw LedgerError(
                code: .corruptData, message: "\(try keys.user(user).reserved) is \(reserved), not a non-negative integer")
        }
        try usage.apply(cycleHash: hash, key: key, lenient: lenient)
        return usage
    }

    static func validateRecord(user: String, callID: String, usage: UsageRecord, model: String, provider: String)
        throws(ValidationError)
    {
        try Validation.validateUserID(user)
        try Validation.validateCallID(callID)
        try Validation.validateModel(model)
        try Validation.validateProvider(provider)
        try Validation.validateTokenCount(usage.inputTokens, field: "input_tokens")
        try Validation.validateTokenCount(usage.outputTokens, field: "output_tokens")
        if let cached = usage.cachedInputTokens { try Validation.validateTokenCount(cached, field: "cached_input_tokens") }
        if let write = usage.cacheWriteTokens { try Validation.validateTokenCount(write, field: "cache_write_tokens") }
        if let reasoning = usage.reasoningTokens { try Validation.validateTokenCount(reasoning, field: "reasoning_tokens") }
        let inputSubsets = (usage.cachedInputTokens ?? 0) + (usage.cacheWriteTokens ?? 0)
        if inputSubsets > usage.inputTokens {
            throw ValidationError(
                code: .invalidTokenCount, field: "cached_input_tokens",
                message: "cached_input_tokens + cache_write_tokens (\(inputSubsets)) is more than input_tokens (\(usage.inputTokens)); they are part of it")
        }
        if let reasoning = usage.reasoningTokens, reasoning > usage.outputTokens {
            throw ValidationError(
                code: .invalidTokenCount, field: "reasoning_tokens",
                message: "reasoning_tokens (\(reasoning)) is more than output_tokens (\(usage.outputTokens)); it is part of it")
        }
    }

    /// The usage arguments of the record and settle scripts: call id, the five counts (-1 = not
    /// reported) and the model. The provider is validated and kept in spooled events but not
    /// aggregated, so it is not sent (each argument costs Redis time on every record).
    static func usageArguments(_ callID: String, _ usage: UsageRecord, _ model: String) -> [any RedisArgumentConvertible] {
        [
            callID, usage.inputTokens, usage.outputTokens, usage.cachedInputTokens ?? -1, usage.cacheWriteTokens ?? -1,
            usage.reasoningTokens ?? -1, model,
        ]
    }

    static func limitArgument(_ limit: Int?) -> Int { limit ?? -1 }

    /// Refuses a cycle that starts or ends outside the dates TokenLedger accepts (0001-01-01 …
    /// 9999-12-31), so no date it prints is one it would refuse (`cycle_end` is exclusive: the
    /// cycle of 9999-12-31 would end on 10000-01-01).
    static func checkDateRange(_ cycle: BillingCycle) throws(ValidationError) {
        if cycle.start.year >= 1 && cycle.end.year <= 9999 { return }
        throw ValidationError(
            code: .invalidCycle, field: "cycle",
            message: "the cycle starting \(cycle.start) would end after 9999-12-31, outside the dates TokenLedger accepts "
                + "(0001-01-01 to 9999-12-31); use an earlier date")
    }

    static func encodePolicy(_ policy: BillingCyclePolicy) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(policy), as: UTF8.self)
    }

    /// The policy a user's stored `policy` field gives (the default when the user has none).
    static func policy(stored: String, user: String, settings: Settings) throws -> BillingCyclePolicy {
        if stored.isEmpty { return settings.defaultPolicy }
        if !stored.contains("\"carry\"") { return try decodePolicy(stored, user: user) }  // the common case
        return try StoredPolicy.decode(stored, user: user).policy ?? settings.defaultPolicy
    }

    /// The cycles of previous policies that count against the limit of a check in `target` at
    /// `instant`, from the stored policy the script will verify (`assumed`).
    func carriedCycleKeys(user: String, assumed: String, target: CalendarDate, at instant: Date) throws -> [String] {
        guard assumed.contains("\"carry\"") else { return [] }
        let userKeys = try keys.user(user)
        return try StoredPolicy.decode(assumed, user: user).activeCarries(at: instant, target: target).map(userKeys.cycle)
    }

    static func decodePolicy(_ text: String, user: String?) throws -> BillingCyclePolicy {
        do {
            return try JSONDecoder().decode(BillingCyclePolicy.self, from: Data(text.utf8))
        } catch {
            let owner = user.map { "user '\($0)'" } ?? "the default"
            throw LedgerError(code: .corruptData, message: "the stored cycle policy of \(owner) is not valid: \(text)")
        }
    }

    static func integers(_ replies: [RedisReply], count: Int, what: String) throws -> [Int] {
        guard replies.count >= count else { throw unexpected(.array(replies), what: what) }
        return try replies.prefix(count).map { reply in
            guard let value = reply.int else { throw unexpected(reply, what: what) }
            return Int(value)
        }
    }

    /// A script's `BADSTATE <key> [field] holds <value>` (a stored value it did not expect: negative,
    /// non-numeric, leases that disagree with `reserved`) as ``LedgerError/Code/corruptData``.
    static func corruptState(_ error: RedisError) -> LedgerError {
        var detail = error.message
        if let range = detail.range(of: "BADSTATE ") { detail = String(detail[range.upperBound...]) }
        if let range = detail.range(of: " script: ") { detail = String(detail[..<range.lowerBound]) }
        return LedgerError(
            code: .corruptData,
            message:
                "stored value is corrupt: \(detail); nothing was changed. Another program or a raw command wrote it: fix the value or reset the cycle as the administrator (docs/operations.md)")
    }

    static func unexpected(_ reply: RedisReply, what: String) -> Error {
        if case .error(let error) = reply { return error }
        return LedgerError(code: .unexpectedReply, message: "unexpected reply to \(what): \(reply)")
    }
}

import Foundation
import RedisClient

/// What a rollover run should do.
public struct RolloverOptions: Sendable, Hashable {
    /// The instant to evaluate at: cycles that ended by then are closed. Default now.
    public var now: Date
    /// Read and report only; write nothing (no lock, no history, no deletions, no index entries).
    public var dryRun: Bool
    /// Months of cycle data to keep: a user's counters and call ids of a cycle that ended more than
    /// this many months before `now` (UTC dates) are deleted once the cycle's summary is in the
    /// history. 0 keeps everything. Default 13.
    public var retentionMonths: Int
    /// Keys per `SCAN`/`SSCAN` step and users per pipeline. Default 1000.
    public var batchSize: Int
    /// How long the run's lock lives unless extended (it is extended after every batch). Default 2 minutes.
    public var lockTTL: Duration

    /// Creates options.
    ///
    /// - Throws: ``ValidationError`` when `retentionMonths` is negative or above 1200, or `batchSize`
    ///   is outside 1…100,000, or `lockTTL` outside 1 s…1 day.
    public init(
        now: Date = Date(), dryRun: Bool = false, retentionMonths: Int = 13, batchSize: Int = 1000,
        lockTTL: Duration = .seconds(120)
    ) throws(ValidationError) {
        guard (0...1200).contains(retentionMonths) else {
            throw ValidationError(
                code: .invalidLimit, field: "retention-months",
                message: "--retention-months is \(retentionMonths); use 0 (keep everything) to 1200")
        }
        guard (1...100_000).contains(batchSize) else {
            throw ValidationError(
                code: .invalidLimit, field: "batch-size", message: "--batch-size is \(batchSize); use 1 to 100000")
        }
        try Validation.validateDuration(lockTTL, field: "lock_ttl", minimum: .seconds(1), maximum: Validation.maximumTimeout)
        self.now = now
        self.dryRun = dryRun
        self.retentionMonths = retentionMonths
        self.batchSize = batchSize
        self.lockTTL = lockTTL
    }
}

/// What a rollover run did (or, with `dryRun`, would do).
///
/// JSON (sorted keys): `now`, `dry_run`, `locked`, `scanned_keys`, `index_added`, `closed`
/// (`[{"cycle","users","total_tokens"}]`), `retention_cutoff`, `deleted_user_cycles`,
/// `deleted_keys`, `dropped_cycles`, `kept_without_history`, `amended_calls`.
public struct RolloverResult: Sendable, Hashable, Codable {
    /// Users closed in one cycle by this run.
    public struct ClosedCycle: Sendable, Hashable, Codable {
        /// The cycle's start date.
        public var cycle: CalendarDate
        /// Users whose summary this run wrote.
        public var users: Int
        /// Their total tokens.
        public var totalTokens: Int

        /// Creates a value.
        public init(cycle: CalendarDate, users: Int, totalTokens: Int) {
            self.cycle = cycle
            self.users = users
            self.totalTokens = totalTokens
        }

        enum CodingKeys: String, CodingKey {
            case cycle, users
            case totalTokens = "total_tokens"
        }
    }

    /// The instant the run evaluated at (ISO 8601, UTC).
    public var now: String
    /// Whether this was a dry run.
    public var dryRun: Bool
    /// `true` when another run held the lock, so this one did nothing.
    public var locked = false
    /// Per-user cycle and call-id keys the scan found.
    public var scannedKeys = 0
    /// (user, cycle) entries added to the derived index (with `dryRun`: missing from it).
    public var indexAdded = 0
    /// Cycles in which users were closed, oldest first.
    public var closed: [ClosedCycle] = []
    /// Cycles that ended before this date are past retention (`nil`: retention is off).
    public var retentionCutoff: CalendarDate?
    /// (user, cycle) pairs whose counters and call ids were deleted by retention.
    public var deletedUserCycles = 0
    /// Keys deleted by retention.
    public var deletedKeys = 0
    /// Cycles dropped from the derived index because all their data is past retention.
    public var droppedCycles: [CalendarDate] = []
    /// (user, cycle) pairs past retention that were kept because their summary is missing (or a
    /// late call is not in the history yet).
    public var keptWithoutHistory = 0
    /// Late calls (applied after their cycle was closed) added to the history by this run (with
    /// `dryRun`: waiting to be added). See `docs/operations.md`, late events.
    public var amendedCalls = 0

    /// Creates an empty result.
    public init(now: String, dryRun: Bool) {
        self.now = now
        self.dryRun = dryRun
    }

    enum CodingKeys: String, CodingKey {
        case now, locked, closed
        case dryRun = "dry_run"
        case scannedKeys = "scanned_keys"
        case indexAdded = "index_added"
        case retentionCutoff = "retention_cutoff"
        case deletedUserCycles = "deleted_user_cycles"
        case deletedKeys = "deleted_keys"
        case droppedCycles = "dropped_cycles"
        case keptWithoutHistory = "kept_without_history"
        case amendedCalls = "amended_calls"
    }

    /// Encodes every field; `retention_cutoff` is `null` when retention is off.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(now, forKey: .now)
        try c.encode(dryRun, forKey: .dryRun)
        try c.encode(locked, forKey: .locked)
        try c.encode(scannedKeys, forKey: .scannedKeys)
        try c.encode(indexAdded, forKey: .indexAdded)
        try c.encode(closed, forKey: .closed)
        try c.encode(retentionCutoff, forKey: .retentionCutoff)
        try c.encode(deletedUserCycles, forKey: .deletedUserCycles)
        try c.encode(deletedKeys, forKey: .deletedKeys)
        try c.encode(droppedCycles, forKey: .droppedCycles)
        try c.encode(keptWithoutHistory, forKey: .keptWithoutHistory)
        try c.encode(amendedCalls, forKey: .amendedCalls)
    }
}

/// The cron job: closes ended cycles into an immutable history, applies retention, and rebuilds
/// the derived indices.
///
/// A run, under the namespace's `rollover` lock (``JobLock``; a second concurrent run returns
/// ``RolloverResult/locked`` and does nothing):
/// 1. **Index**: one `SCAN` over the namespace's per-user keys adds every (user, cycle) that has
///    counters or call ids to the cycle's derived index (`index.lua`).
/// 2. **Close**: for every indexed cycle, each user not yet in the cycle's history whose cycle has
///    ended at `now` (by the user's own policy, else the default) gets a summary
///    (``CycleSummary``) written once with `HSETNX`, and the cycle's totals grow by it, atomically
///    (`history.lua`). A summary is never rewritten by a run, so runs that repeat, overlap or catch
///    up after missed days write the same history as daily runs. The history holds no wall-clock
///    times. The close marks the user's cycle (`close.lua`, atomically with the snapshot), so a
///    call applied later amends the summary instead (late events: `docs/operations.md`).
/// 3. **Late calls** a dead caller left pending are added to the history, once each.
/// 4. **Retention**: a user's counters and call ids of a cycle that ended on or before the cutoff
///    (`now`'s UTC date minus ``RolloverOptions/retentionMonths``) are deleted (`retention.lua`,
///    in the user's slot), only when the user's summary is in the history. A cycle with nothing left
///    is dropped from the index (`cycle_drop.lua`); its history stays.
/// 5. What the run did is kept in `<ns>:{global}:rollover` (`rollover_state.lua`).
///
/// Counting never depends on this job: new cycles begin by themselves.
public struct Rollover: Sendable {
    /// The repository whose namespace is rolled over.
    public let repository: TokenRepository
    let scripts: OperationsScripts

    /// Creates the job for a repository's namespace.
    ///
    /// - Throws: ``LedgerError`` when the Lua scripts are missing from the installation.
    public init(repository: TokenRepository) throws(LedgerError) {
        self.repository = repository
        self.scripts = try OperationsScripts.shared.get()
    }

    private var keys: LedgerKeys { repository.keys }
    private var pool: RedisConnectionPool { repository.pool }

    /// Runs the job once.
    ///
    /// Unless it is a dry run, `options.now` may not be later than the Redis server's clock plus
    /// ``clockTolerance``.
    ///
    /// - Parameters:
    ///   - options: The instant, dry run, retention and batch size.
    ///   - progress: Called with a short line after each phase and long step (for stderr).
    /// - Returns: What was done.
    /// - Throws: ``LedgerError`` (corrupt data, lost lock, a schema newer than this build unless
    ///   dry-running, ``LedgerError/Code/instantInFuture``); ``RedisClient/RedisError``.
    public func run(
        _ options: RolloverOptions, progress: (@Sendable (String) -> Void)? = nil
    ) async throws -> RolloverResult {
        var result = RolloverResult(now: ISO8601Instant.format(options.now), dryRun: options.dryRun)
        var lock: JobLock?
        if !options.dryRun {
            try await refuseFutureInstant(options.now)
            try await repository.ensureWritableSchema()
            guard let taken = try await JobLock.acquire("rollover", repository: repository, ttl: options.lockTTL) else {
                result.locked = true
                return result
            }
            lock = taken
        }
        do {
            try await work(options, lock: lock, result: &result, progress: progress)
            if let lock { try await lock.release() }
            return result
        } catch {
            if let lock { _ = try? await lock.release() }
            throw error
        }
    }

    /// How far ``RolloverOptions/now`` may be ahead of the Redis server's clock (clock skew between
    /// hosts): 5 minutes.
    public static let clockTolerance: Duration = .seconds(300)

    /// Throws when `now` is later than the Redis server's clock (`TIME`) plus ``clockTolerance``:
    /// closing a running cycle early would write a summary of a cycle still counting, delete its
    /// counters and call ids by retention, and skip the real close.
    private func refuseFutureInstant(_ now: Date) async throws {
        let reply = try await pool.send(RedisCommand("TIME"))
        guard let parts = try reply.throwingError().array, parts.count == 2,
            let seconds = parts[0].string.flatMap(Double.init), let micros = parts[1].string.flatMap(Double.init)
        else { throw TokenRepository.unexpected(reply, what: "TIME") }
        let server = Date(timeIntervalSince1970: seconds + micros / 1_000_000)
        if now > server.addingTimeInterval(Double(Self.clockTolerance.components.seconds)) {
            throw LedgerError(
                code: .instantInFuture,
                message: "refusing to roll over at \(ISO8601Instant.format(now)): it is later than the Redis server's clock "
                    + "(\(ISO8601Instant.format(server))) plus 5 minutes, and closing cycles that have not ended would "
                    + "delete their counters; a dry run may look ahead")
        }
    }

    private func work(
        _ options: RolloverOptions, lock: JobLock?, result: inout RolloverResult,
        progress: (@Sendable (String) -> Void)?
    ) async throws {
        let settings = try await repository.settings(fresh: true)
        let today = CalendarDate(containing: options.now, in: .gmt)
        let cutoff = options.retentionMonths > 0 ? today.addingMonths(-options.retentionMonths) : nil
        result.retentionCutoff = cutoff
        let keepAlive = { () async throws -> Void in
            if let lock, try await !lock.extend() {
                throw LedgerError(
                    code: .lockLost,
                    message: "the rollover lock \(lock.key) expired during the run; another run may have taken over")
            }
        }

        // 1. Index every (user, cycle) with data; remember what retention may delete.
        var late: Set<UserCycle> = []
        let old = try await scanAndIndex(options, cutoff: cutoff, result: &result, late: &late, keepAlive: keepAlive)
        progress?("indexed: \(result.scannedKeys) keys scanned, \(result.indexAdded) index entries added")

        // 2. Close every ended cycle of every indexed user.
        let indexedCycles = try await cycleNames(RedisCommand("SMEMBERS", keys.indexedCycles))
        for cycle in indexedCycles.sorted() {
            // No policy ends a cycle before its next local day starts (UTC+14 is the earliest zone).
            if options.now < cycle.adding(days: 1).firstInstant(in: .gmt).addingTimeInterval(-14 * 3600) { continue }
            let closed = try await close(
                cycle, options: options, settings: settings, late: &late, keepAlive: keepAlive)
            if closed.users > 0 {
                result.closed.append(closed)
                progress?("closed \(cycle): \(closed.users) users, \(closed.totalTokens) tokens")
            }
        }

        // 3. Late calls: amend the history of closed cycles with the calls applied after their close
        //    (their callers do it at once; these are the ones a failure or a crash left pending).
        for entry in late.sorted(by: { ($0.cycle, $0.user) < ($1.cycle, $1.user) }) {
            if options.dryRun {
                let count = try await pool.send(RedisCommand("HLEN", try keys.user(entry.user).late(entry.cycle)))
                result.amendedCalls += Int(try count.throwingError().int ?? 0)
            } else {
                result.amendedCalls += try await repository.amendHistory(user: entry.user, cycle: entry.cycle).applied
            }
            try await keepAlive()
        }
        if result.amendedCalls > 0 { progress?("amended: \(result.amendedCalls) late calls added to the history") }

        // 4. Retention.
        if let cutoff {
            try await applyRetention(
                old: old, indexedCycles: indexedCycles, cutoff: cutoff, options: options, result: &result,
                keepAlive: keepAlive)
            progress?(
                "retention (cycles ended on or before \(cutoff)): \(result.deletedUserCycles) user cycles deleted, "
                    + "\(result.droppedCycles.count) cycles dropped")
        }

        // 5. Remember the run.
        if !options.dryRun {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let summary = String(decoding: try encoder.encode(result), as: UTF8.self)
            _ = try await pool.evaluate(
                scripts.rolloverState, keys: [keys.rolloverState],
                arguments: [
                    "last_now", result.now, "last_finished_at", ISO8601Instant.format(Date()), "last_result", summary,
                ])
        }
    }

    // MARK: - Index

    /// Scans the per-user keys, adds missing index entries, and returns the (user, cycle) pairs
    /// with data whose cycle started before the retention cutoff.
    private func scanAndIndex(
        _ options: RolloverOptions, cutoff: CalendarDate?, result: inout RolloverResult, late: inout Set<UserCycle>,
        keepAlive: () async throws -> Void
    ) async throws -> [CalendarDate: Set<String>] {
        var old: [CalendarDate: Set<String>] = [:]
        var cursor = "0"
        repeat {
            let reply = try await pool.send(
                RedisCommand("SCAN", cursor, "MATCH", keys.everyTaggedKeyPattern, "COUNT", options.batchSize))
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let names = parts[1].array else {
                throw TokenRepository.unexpected(reply, what: "SCAN")
            }
            cursor = next
            var byCycle: [CalendarDate: Set<String>] = [:]
            for name in names {
                guard let bytes = name.bytes, let key = String(validating: bytes, as: UTF8.self) else { continue }
                if let (user, cycle) = perUserCycleKey(key, suffix: ":late:") {
                    late.insert(UserCycle(user: user, cycle: cycle))
                    continue
                }
                guard let (user, cycle) = perUserCycleKey(key) else { continue }
                result.scannedKeys += 1
                byCycle[cycle, default: []].insert(user)
                if let cutoff, cycle < cutoff { old[cycle, default: []].insert(user) }
            }
            if !byCycle.isEmpty {
                let groups = byCycle.sorted { $0.key < $1.key }
                if options.dryRun {
                    let replies = try await pool.pipeline(
                        groups.map { cycle, users in RedisCommand("SMISMEMBER", [keys.index(cycle)] + Array(users)) })
                    for reply in replies {
                        result.indexAdded += (try reply.throwingError().array ?? []).filter { $0.int == 0 }.count
                    }
                } else {
                    let replies = try await pool.evaluateMany(
                        groups.map { cycle, users in
                            RedisScriptCall(
                                repository.scripts.index, keys: [keys.index(cycle), keys.indexedCycles],
                                arguments: [cycle.description] + Array(users))
                        })
                    for reply in replies { result.indexAdded += Int(try reply.throwingError().int ?? 0) }
                }
            }
            try await keepAlive()
        } while cursor != "0"
        return old
    }

    /// A (user, cycle) pair.
    struct UserCycle: Hashable {
        var user: String
        var cycle: CalendarDate
    }

    /// The user and cycle of a `<ns>:{<user>}:cycle:<D>` or `<ns>:{<user>}:calls:<D>` key (with
    /// `suffix`: of a `<ns>:{<user>}<suffix><D>` key).
    func perUserCycleKey(_ key: String, suffix wanted: String? = nil) -> (String, CalendarDate)? {
        guard let user = keys.userID(fromKey: key), let close = key.firstIndex(of: "}") else { return nil }
        let suffix = key[key.index(after: close)...]
        let rest: Substring
        if let wanted {
            guard suffix.hasPrefix(wanted) else { return nil }
            rest = suffix.dropFirst(wanted.count)
        } else if suffix.hasPrefix(":cycle:") {
            rest = suffix.dropFirst(7)
        } else if suffix.hasPrefix(":calls:") {
            rest = suffix.dropFirst(7)
        } else {
            return nil
        }
        guard let cycle = try? CalendarDate(parsing: String(rest)), (try? Validation.validateUserID(user)) != nil,
            (try? keys.user(user))?.prefix == String(key[...close]) + ":"
        else { return nil }
        return (user, cycle)
    }

    // MARK: - Close

    private func close(
        _ cycle: CalendarDate, options: RolloverOptions, settings: TokenRepository.Settings,
        late: inout Set<UserCycle>, keepAlive: () async throws -> Void
    ) async throws -> RolloverResult.ClosedCycle {
        var closed = RolloverResult.ClosedCycle(cycle: cycle, users: 0, totalTokens: 0)
        let counts = try await pool.pipeline([
            RedisCommand("SCARD", keys.index(cycle)), RedisCommand("HLEN", keys.history(cycle)),
        ])
        let indexed = try counts[0].throwingError().int ?? 0
        let summarized = try counts[1].throwingError().int ?? 0
        if summarized >= indexed { return closed }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var cursor = "0"
        repeat {
            let reply = try await pool.send(
                RedisCommand("SSCAN", keys.index(cycle), cursor, "COUNT", options.batchSize))
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let members = parts[1].array else {
                throw TokenRepository.unexpected(reply, what: "SSCAN")
            }
            cursor = next
            let users = members.compactMap(\.string).filter { (try? Validation.validateUserID($0)) != nil }
            if users.isEmpty { continue }
            // Who is not in the history yet, and what policy each of them has.
            let present = try await pool.send(RedisCommand("HMGET", [keys.history(cycle)] + users)).array ?? []
            let pending = zip(users, present).filter { $0.1.isNull }.map(\.0)
            if pending.isEmpty { continue }
            let policies = try await pool.pipeline(
                try pending.map { RedisCommand("HGET", try keys.user($0).profile, "policy") })
            var ended: [(user: String, end: CalendarDate)] = []
            for (user, reply) in zip(pending, policies) {
                let stored = try reply.throwingError().string ?? ""
                let policy = try TokenRepository.policy(stored: stored, user: user, settings: settings)
                let target = policy.cycle(startingOn: cycle)
                if target.hasEnded(at: options.now) { ended.append((user, target.end)) }
            }
            if ended.isEmpty { continue }
            // Mark their cycles closed, reading their counters in the same step (close.lua), and write
            // the summaries: every call is in a summary or, applied after the mark, a late call.
            let replies = try await pool.evaluateMany(
                try ended.map { entry in
                    let userKeys = try keys.user(entry.user)
                    return RedisScriptCall(
                        scripts.close,
                        keys: [
                            userKeys.profile, userKeys.cycle(cycle), userKeys.leases, userKeys.leaseExpiry,
                            userKeys.reserved, userKeys.late(cycle),
                        ],
                        arguments: [TokenRepository.limitArgument(settings.defaultLimit), options.dryRun ? "0" : "1"])
                })
            var arguments: [any RedisArgumentConvertible] = [cycle.description, cycle.daysSince1970]
            var tokens = 0
            for (entry, reply) in zip(ended, replies) {
                let summary = try Self.summary(
                    user: entry.user, cycle: cycle, end: entry.end, reply: reply,
                    lateKey: try keys.user(entry.user).late(cycle), late: &late)
                arguments.append(entry.user)
                arguments.append(String(decoding: try encoder.encode(summary), as: UTF8.self))
                tokens += summary.totalTokens
            }
            let added: Int
            if options.dryRun {
                added = ended.count
            } else {
                let reply = try await pool.evaluate(
                    scripts.history, keys: [keys.history(cycle), keys.historyTotals(cycle), keys.historyCycles],
                    arguments: arguments)
                added = Int(reply.int ?? 0)
            }
            closed.users += added
            closed.totalTokens += added > 0 ? tokens : 0
            try await keepAlive()
        } while cursor != "0"
        return closed
    }

    /// The summary from close.lua's reply: the counters at the close, without the late calls
    /// still pending (they are added to the history as adjustments, with an audit entry each).
    static func summary(
        user: String, cycle: CalendarDate, end: CalendarDate, reply: RedisReply, lateKey: String,
        late: inout Set<UserCycle>
    ) throws -> CycleSummary {
        guard let fields = try reply.throwingError().array, fields.count >= 6, fields[0].string == "ok",
            let limit = fields[1].int, let hash = fields[3].array, let pending = fields[5].array
        else { throw TokenRepository.unexpected(reply, what: "close") }
        var usage = UserUsage(user: user, cycle: cycle, cycleEnd: end, limit: limit < 0 ? nil : Int(limit))
        try usage.apply(cycleHash: hash, key: "user '\(user)' cycle \(cycle)")
        let adjustments = try LateAdjustment.decodeAll(pending, key: lateKey)
        for adjustment in adjustments { usage.remove(adjustment.value) }
        if !adjustments.isEmpty { late.insert(UserCycle(user: user, cycle: cycle)) }
        return CycleSummary(usage)
    }

    // MARK: - Retention

    private func applyRetention(
        old: [CalendarDate: Set<String>], indexedCycles: [CalendarDate], cutoff: CalendarDate,
        options: RolloverOptions, result: inout RolloverResult, keepAlive: () async throws -> Void
    ) async throws {
        let decoder = JSONDecoder()
        var keptCycles = Set<CalendarDate>()
        for (cycle, userSet) in old.sorted(by: { $0.key < $1.key }) {
            let users = userSet.sorted()
            for start in stride(from: 0, to: users.count, by: options.batchSize) {
                let batch = Array(users[start..<min(start + options.batchSize, users.count)])
                let summaries = try await pool.send(RedisCommand("HMGET", [keys.history(cycle)] + batch)).array ?? []
                var doomed: [String] = []
                for (user, reply) in zip(batch, summaries) {
                    guard let text = reply.string else {
                        result.keptWithoutHistory += 1
                        keptCycles.insert(cycle)
                        continue
                    }
                    let summary = try decoder.decode(CycleSummary.self, from: Data(text.utf8))
                    if summary.cycleEnd <= cutoff {
                        doomed.append(user)
                    } else {
                        keptCycles.insert(cycle)
                    }
                }
                if options.dryRun || doomed.isEmpty {
                    result.deletedUserCycles += doomed.count
                    continue
                }
                let replies = try await pool.evaluateMany(
                    try doomed.map { user in
                        let userKeys = try keys.user(user)
                        return RedisScriptCall(
                            scripts.retention,
                            keys: [userKeys.cycle(cycle), userKeys.calls(cycle), userKeys.profile, userKeys.late(cycle)],
                            arguments: [cycle.description])
                    })
                for reply in replies {
                    let deleted = Int(try reply.throwingError().int ?? 0)
                    if deleted < 0 {
                        // A late call is not in the history yet: keep the cycle for the next run.
                        result.keptWithoutHistory += 1
                        keptCycles.insert(cycle)
                    } else {
                        result.deletedUserCycles += 1
                        result.deletedKeys += deleted
                    }
                }
                try await keepAlive()
            }
        }
        // Cycles before the cutoff with nothing left: drop them from the index (history stays).
        for cycle in indexedCycles.sorted() where cycle < cutoff && !keptCycles.contains(cycle) {
            result.droppedCycles.append(cycle)
            if !options.dryRun {
                _ = try await pool.evaluate(
                    scripts.cycleDrop, keys: [keys.index(cycle), keys.indexedCycles], arguments: [cycle.description])
            }
        }
    }

    // MARK: - Reading the history

    /// The cycles that have a history, oldest first.
    public func historyCycles() async throws -> [CalendarDate] {
        try await cycleNames(RedisCommand("ZRANGE", keys.historyCycles, 0, -1)).sorted()
    }

    /// A cycle's history: every closed user's summary (sorted by user id), the totals and the late
    /// calls that amended it.
    ///
    /// - Throws: ``LedgerError`` with code ``LedgerError/Code/corruptData`` when a summary is not valid JSON.
    public func history(cycle: CalendarDate) async throws -> CycleHistory {
        let replies = try await pool.pipeline([
            RedisCommand("HGETALL", keys.history(cycle)), RedisCommand("HGETALL", keys.historyTotals(cycle)),
            RedisCommand("HGETALL", keys.historyAdjustments(cycle)),
        ])
        let entries = try replies[0].throwingError().array ?? []
        let decoder = JSONDecoder()
        var users: [CycleSummary] = []
        for index in stride(from: 0, to: entries.count - 1, by: 2) {
            let text = entries[index + 1].string ?? ""
            do {
                users.append(try decoder.decode(CycleSummary.self, from: Data(text.utf8)))
            } catch {
                throw LedgerError(
                    code: .corruptData,
                    message: "\(keys.history(cycle)) holds an invalid summary for '\(entries[index].string ?? "")': \(text)")
            }
        }
        users.sort { $0.user < $1.user }
        var totals = CycleHistory.Totals()
        let fields = try replies[1].throwingError().array ?? []
        for index in stride(from: 0, to: fields.count - 1, by: 2) {
            guard let field = fields[index].string, let value = fields[index + 1].int.map(Int.init) else { continue }
            switch field {
            case "users": totals.users = value
            case "input_tokens": totals.inputTokens = value
            case "output_tokens": totals.outputTokens = value
            case "cached_input_tokens": totals.cachedInputTokens = value
            case "cache_write_tokens": totals.cacheWriteTokens = value
            case "reasoning_tokens": totals.reasoningTokens = value
            case "total_tokens": totals.totalTokens = value
            case "calls": totals.calls = value
            case "adjustments": totals.adjustments = value
            default:
                totals.models.apply(modelField: field, value: value)
            }
        }
        var adjustments: [CycleHistory.Adjustment] = []
        let audit = try replies[2].throwingError().array ?? []
        for index in stride(from: 1, to: audit.count, by: 2) {
            let text = audit[index].string ?? ""
            guard let entry = try? decoder.decode(CycleHistory.Adjustment.self, from: Data(text.utf8)) else {
                throw LedgerError(
                    code: .corruptData, message: "\(keys.historyAdjustments(cycle)) holds an invalid entry: \(text)")
            }
            adjustments.append(entry)
        }
        adjustments.sort { ($0.user, $0.at, $0.callID) < ($1.user, $1.at, $1.callID) }
        return CycleHistory(cycle: cycle, users: users, totals: totals, adjustments: adjustments)
    }

    /// The histories of closed cycles, oldest first: one cycle's with `cycle`, else every cycle's;
    /// with `user`, only that user's summary and adjustments, and only cycles where the user was
    /// closed (the totals stay the cycle's). Reads the history only, so it works after retention
    /// deleted the per-user counters.
    ///
    /// - Throws: ``ValidationError`` for a bad user id; as ``history(cycle:)``.
    public func histories(cycle: CalendarDate? = nil, user: String? = nil) async throws -> [CycleHistory] {
        if let user { try Validation.validateUserID(user) }
        let cycles: [CalendarDate]
        if let cycle { cycles = [cycle] } else { cycles = try await historyCycles() }
        var result: [CycleHistory] = []
        for cycle in cycles {
            var history = try await self.history(cycle: cycle)
            if let user {
                history.users = history.users.filter { $0.user == user }
                history.adjustments = history.adjustments.filter { $0.user == user }
                if history.users.isEmpty { continue }
            }
            result.append(history)
        }
        return result
    }

    private func cycleNames(_ command: RedisCommand) async throws -> [CalendarDate] {
        let reply = try await pool.send(command)
        guard let members = reply.array else { throw TokenRepository.unexpected(reply, what: command.name) }
        return members.compactMap { $0.string.flatMap { try? CalendarDate(parsing: $0) } }
    }
}

extension CalendarDate {
    /// The date `months` calendar months later (earlier when negative), the day clamped to the
    /// target month's length (2025-03-31 minus one month is 2025-02-28), and to the accepted dates
    /// (0001-01-01 … 9999-12-31).
    func addingMonths(_ months: Int) -> CalendarDate {
        let index = year * 12 + (month - 1) + months
        if index < 12 { return CalendarDate(uncheckedYear: 1, month: 1, day: 1) }
        if index >= 10_000 * 12 { return CalendarDate(uncheckedYear: 9999, month: 12, day: 31) }
        let newYear = index >= 0 ? index / 12 : (index - 11) / 12
        let newMonth = index - newYear * 12 + 1
        return CalendarDate(
            uncheckedYear: newYear, month: newMonth,
            day: min(day, CalendarDate.daysInMonth(year: newYear, month: newMonth)))
    }
}

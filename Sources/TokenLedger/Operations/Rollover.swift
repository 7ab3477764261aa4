import Foundation
import RedisClient

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
///    Teams' and orgs' ended cycles are closed the same way into their kind's own history
///    (`scope-history:KIND:D`, ``history(cycle:kind:)``).
/// 3. **Late calls** a dead caller left pending are added to the history, once each.
/// 4. **The dedupe window**: a closed cycle (a user's, a team's, an org's) that ended more than the
///    window ago is folded into its summary: its call ids and counters are deleted (two marks stay,
///    so a later event of it is parked) and the summary is rewritten compactly (`CycleSummary+Compact.swift`);
///    readers of the cycle take its counters from the summary.
/// 5. **Retention**: a user's (or group's) counters and call ids of a cycle that ended on or before the
///    cutoff (`now`'s UTC date minus ``RolloverOptions/retentionMonths``) are deleted (`retention.lua`,
///    in its slot), only when its summary is in the history. A cycle with nothing left is dropped from
///    the index (`cycle_drop.lua`); its history stays.
/// 6. What the run did is kept in `<ns>:{global}:rollover` (`rollover_state.lua`).
///
/// Counting never depends on this job: new cycles begin by themselves.
public struct Rollover: Sendable {
    /// The repository whose namespace is rolled over.
    public let repository: TokenRepository

    /// Creates the job for a repository's namespace.
    ///
    /// - Throws: ``LedgerError`` when the Lua scripts are missing from the installation.
    public init(repository: TokenRepository) throws(LedgerError) {
        self.repository = repository
    }

    var keys: LedgerKeys { repository.keys }
    var pool: RedisConnectionPool { repository.pool }

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
    ///   dry-running, ``LedgerError/Code/instantInFuture``); `RedisError`.
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
        let server = try await pool.send(TIME())
        if now > server.addingTimeInterval(Double(Self.clockTolerance.components.seconds)) {
            throw LedgerError(
                code: .instantInFuture,
                message:
                    "refusing to roll over at \(ISO8601Instant.format(now)): it is later than the Redis server's clock "
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

        // 1. Index every (user, cycle) with data; remember what retention may delete and which
        //    cycles that ended before the dedupe window still hold call ids or a cycle hash.
        var late: Set<UserCycle> = []
        let windowDays = options.dedupeWindowDays ?? repository.configuration.dedupeWindowDays
        result.dedupeWindowDays = windowDays
        // A cycle that started on or after this date cannot have ended more than the window ago.
        let windowStart = today.adding(days: -windowDays)
        var withCallIDs: [CalendarDate: Set<String>] = [:]
        var groups = GroupKeys()
        let old = try await scanAndIndex(
            options, cutoff: cutoff, result: &result, late: &late, keepAlive: keepAlive,
            windowStart: windowStart, withCallIDs: &withCallIDs, groups: &groups)
        progress?("indexed: \(result.scannedKeys) keys scanned, \(result.indexAdded) index entries added")

        // 2. Close every ended cycle of every indexed user.
        let indexedCycles = cycleNames(try await pool.send(SMEMBERS(keys.indexedCycles)))
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
        // ... and of every team and org (their own histories).
        try await closeGroups(options, settings: settings, late: &groups.late, result: &result, keepAlive: keepAlive)
        if result.closedGroupCycles > 0 { progress?("closed \(result.closedGroupCycles) team and org cycles") }

        // 3. Late calls: amend the history of closed cycles with the calls applied after their close
        //    (their callers do it at once; these are the ones a failure or a crash left pending).
        for entry in late.sorted(by: { ($0.cycle, $0.user) < ($1.cycle, $1.user) }) {
            if options.dryRun {
                result.amendedCalls += try await pool.send(HLEN(try keys.user(entry.user).late(entry.cycle)))
            } else {
                result.amendedCalls += try await repository.amendHistory(user: entry.user, cycle: entry.cycle).applied
            }
            try await keepAlive()
        }
        try await amendGroupHistories(groups.late, options: options, result: &result, keepAlive: keepAlive)
        if result.amendedCalls > 0 { progress?("amended: \(result.amendedCalls) late calls added to the history") }

        // 4. The dedupe window: drop the call ids of closed cycles that ended more than the window ago.
        try await applyDedupeWindow(
            withCallIDs, today: today, windowDays: windowDays, options: options, result: &result,
            keepAlive: keepAlive)
        try await applyGroupDedupeWindow(
            groups.withCallIDs, today: today, windowDays: windowDays, options: options, result: &result,
            keepAlive: keepAlive)
        if result.droppedCallIDs + result.droppedGroupCallIDs > 0 {
            progress?(
                "dedupe window (\(windowDays) days): call ids of \(result.droppedCallIDs) user cycles and "
                    + "\(result.droppedGroupCallIDs) team and org cycles dropped")
        }

        // 5. Retention.
        if let cutoff {
            try await applyRetention(
                old: old, indexedCycles: indexedCycles, cutoff: cutoff, options: options, result: &result,
                keepAlive: keepAlive)
            try await applyGroupRetention(
                groups.old, cutoff: cutoff, options: options, result: &result, keepAlive: keepAlive)
            progress?(
                "retention (cycles ended on or before \(cutoff)): \(result.deletedUserCycles) user cycles deleted, "
                    + "\(result.droppedCycles.count) cycles dropped")
        }

        // 6. Remember the run.
        if !options.dryRun {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let summary = String(decoding: try encoder.encode(result), as: UTF8.self)
            _ = try await repository.run(
                RolloverStateScript(
                    keySet: keys,
                    fields: [
                        ("last_now", result.now), ("last_finished_at", ISO8601Instant.format(Date())),
                        ("last_result", summary),
                    ]))
        }
    }

    // MARK: - Index

    /// Scans the per-user keys, adds missing index entries (the users' and, for teams' and orgs'
    /// keys, their kind's), and returns the (user, cycle) pairs with data whose cycle started before
    /// the retention cutoff.
    private func scanAndIndex(
        _ options: RolloverOptions, cutoff: CalendarDate?, result: inout RolloverResult, late: inout Set<UserCycle>,
        keepAlive: () async throws -> Void, windowStart: CalendarDate, withCallIDs: inout [CalendarDate: Set<String>],
        groups: inout GroupKeys
    ) async throws -> [CalendarDate: Set<String>] {
        var old: [CalendarDate: Set<String>] = [:]
        let scan = pool.scan(match: keys.everyTaggedKeyPattern, count: options.batchSize)
        try await scan.forEachBatch(of: options.batchSize) { names in
            var byCycle: [CalendarDate: Set<String>] = [:]
            for name in names {
                guard let key = String(validating: name, as: UTF8.self) else { continue }
                if noteGroupKey(key, into: &groups, windowStart: windowStart, cutoff: cutoff) { continue }
                if let (user, cycle) = perUserCycleKey(key, suffix: ":late:") {
                    late.insert(UserCycle(user: user, cycle: cycle))
                    continue
                }
                if let (user, cycle) = callBucketKey(key) {
                    if cycle < windowStart { withCallIDs[cycle, default: []].insert(user) }
                    byCycle[cycle, default: []].insert(user)
                    if let cutoff, cycle < cutoff { old[cycle, default: []].insert(user) }
                    continue
                }
                guard let (user, cycle) = perUserCycleKey(key) else { continue }
                // A cycle hash is a fold candidate too: one whose call ids an earlier build dropped
                // without folding (it marked the hash `calls:dropped` and kept the counters), or
                // that it folded into marks only, has no call ids left to find it by.
                if cycle < windowStart {
                    withCallIDs[cycle, default: []].insert(user)
                }
                result.scannedKeys += 1
                byCycle[cycle, default: []].insert(user)
                if let cutoff, cycle < cutoff { old[cycle, default: []].insert(user) }
            }
            if !byCycle.isEmpty {
                let groups = byCycle.sorted { $0.key < $1.key }
                if options.dryRun {
                    let memberships = try await pool.pipeline(
                        groups.map { cycle, users in SMISMEMBER(keys.index(cycle), members: Array(users)) })
                    for indexed in memberships { result.indexAdded += indexed.values.filter { !$0 }.count }
                } else {
                    let added = try await repository.runAll(
                        groups.map { cycle, users in IndexScript(keySet: keys, cycle: cycle, users: Array(users)) })
                    result.indexAdded += added.reduce(0, +)
                }
            }
            try await indexGroups(&groups, options: options, result: &result)
            try await keepAlive()
        }
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
        let counts = try await pool.pipeline([SCARD(keys.index(cycle)).command, HLEN(keys.history(cycle)).command])
        let indexed = try SCARD(keys.index(cycle)).decodeReply(counts[0])
        let summarized = try HLEN(keys.history(cycle)).decodeReply(counts[1])
        if summarized >= indexed { return closed }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try await pool.sscan(keys.index(cycle), count: options.batchSize).forEachBatch(of: options.batchSize) {
            members in
            // The lock is refreshed before every batch, whether it closes anything or not.
            try await keepAlive()
            // A batch holds each member once (a later batch skips users the history already has).
            let users = members.map { String(decoding: $0, as: UTF8.self) }.filter {
                (try? Validation.validateUserID($0)) != nil
            }
            if users.isEmpty { return }
            // Who is not in the history yet, and what policy each of them has.
            let present = try await pool.send(HMGET(keys.history(cycle), fields: users))
            let pending = users.filter { present[$0] == nil }
            if pending.isEmpty { return }
            let policies = try await pool.pipeline(try pending.map { HGET(try keys.user($0).profile, field: "policy") })
            var ended: [(user: String, end: CalendarDate)] = []
            for (user, policy) in zip(pending, policies) {
                let stored = policy ?? ""
                let policy = try TokenRepository.policy(stored: stored, user: user, settings: settings)
                let target = policy.cycle(startingOn: cycle)
                if target.hasEnded(at: options.now) { ended.append((user, target.end)) }
            }
            if ended.isEmpty { return }
            // Mark their cycles closed, reading their counters in the same step (close.lua), and write
            // the summaries: every call is in a summary or, applied after the mark, a late call.
            let snapshots = try await repository.runAll(
                try ended.map { entry in
                    CloseScript(
                        userKeys: try keys.user(entry.user), cycle: cycle, defaultLimit: settings.defaultLimit,
                        mark: !options.dryRun)
                })
            var summaries: [(user: String, json: String)] = []
            var tokens = 0
            for (entry, snapshot) in zip(ended, snapshots) {
                let summary = try Self.summary(
                    user: entry.user, cycle: cycle, end: entry.end, snapshot: snapshot,
                    lateKey: try keys.user(entry.user).late(cycle), late: &late)
                summaries.append((entry.user, String(decoding: try encoder.encode(summary), as: UTF8.self)))
                tokens += summary.totalTokens
            }
            let added: Int
            if options.dryRun {
                added = ended.count
            } else {
                added = try await repository.run(HistoryScript(keySet: keys, cycle: cycle, summaries: summaries))
            }
            closed.users += added
            closed.totalTokens += added > 0 ? tokens : 0
        }
        return closed
    }

    /// The summary from close.lua's snapshot: the counters at the close, without the late calls
    /// still pending (they are added to the history as adjustments, with an audit entry each).
    static func summary(
        user: String, cycle: CalendarDate, end: CalendarDate, snapshot: CycleSnapshot, lateKey: String,
        late: inout Set<UserCycle>
    ) throws -> CycleSummary {
        var usage = UserUsage(user: user, cycle: cycle, cycleEnd: end, limit: snapshot.limit)
        try usage.apply(cycleHash: snapshot.cycleHash, key: "user '\(user)' cycle \(cycle)")
        let adjustments = try LateAdjustment.decodeAll(snapshot.pendingLate, key: lateKey)
        for adjustment in adjustments { usage.remove(adjustment.value) }
        if !adjustments.isEmpty { late.insert(UserCycle(user: user, cycle: cycle)) }
        return CycleSummary(usage)
    }
}

import Foundation
import RedisClient
import Synchronization

// TokenRepository: reading usage (one user, a cycle's report) and the cross-user index.
extension TokenRepository {
    /// One user's usage in a cycle (the current one by default).
    public func usage(user: String, cycle: CalendarDate? = nil, at instant: Date = Date()) async throws -> UserUsage {
        try await usage(user: user, cycle: cycle, at: instant, lenient: false)
    }

    /// ``usage(user:cycle:at:)``; with `lenient`, counters that are not non-negative integers are
    /// skipped instead of refused (for `reset`, the remedy for such a cycle, whose audit entry keeps
    /// what could be read).
    func usage(user: String, cycle: CalendarDate?, at instant: Date, lenient: Bool) async throws -> UserUsage {
        try await usage(scope: .user(user), cycle: cycle, at: instant, lenient: lenient)
    }

    /// One scope's usage in a cycle (the current one of its policy by default); for a team or an
    /// org, ``UserUsage/user`` is the scope's name (`team:ID`).
    public func usage(scope: LedgerScope, cycle: CalendarDate? = nil, at instant: Date = Date()) async throws
        -> UserUsage
    {
        try await usage(scope: scope, cycle: cycle, at: instant, lenient: false)
    }

    func usage(scope: LedgerScope, cycle: CalendarDate?, at instant: Date, lenient: Bool) async throws -> UserUsage {
        let userKeys = try keys.scope(scope)
        let user = if case .user(let id) = scope { id } else { scope.description }
        let settings = Self.settings(try await settings(), for: scope)
        return try await withCycle(scope: scope, explicit: cycle, at: instant, settings: settings) { target, assumed in
            let call = UsageScript(
                userKeys: userKeys, cycle: target.start, assumedPolicy: assumed, defaultLimit: settings.defaultLimit,
                defaultLimitUSD: settings.defaultLimitUSD?.nanoUSD)
            let reply: UsageScript.Reply
            do {
                reply = try await run(call)
            } catch let error as RedisError where error.serverCode == "WRONGTYPE" {
                // Stored data another program wrote: reported, never read as 0 (SPEC "Bad input").
                throw LedgerError(
                    code: .corruptData,
                    message:
                        "a key of \(scope.kind.rawValue) '\(scope.id)' for cycle \(target.start) holds the wrong type of value "
                        + "(\(userKeys.cycle(target.start)) must be a hash, \(userKeys.reserved) a number)")
            }
            switch reply {
            case .policy(let stored):
                return .retry(stored)
            case .snapshot(let snapshot):
                return .done(
                    try await closedAwareUsage(
                        scope: scope, user: user, cycle: target.start, snapshot, settings: settings, lenient: lenient))
            }
        }
    }

    /// Every user with usage in a cycle (by default the default policy's current cycle).
    ///
    /// - Parameters:
    ///   - cycle: The start date of the cycle to report; `nil` (default): the default policy's cycle
    ///     running at `instant`.
    ///   - top: Keep only the first `top` users after sorting.
    ///   - sort: The order (largest first); ties by user id.
    ///   - instant: The time that picks the cycle when `cycle` is `nil`. Default now.
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
            var counts = TokenCounts.zero
            var money = CycleCost()
            var reserved = 0
            /// Whether rollover folded the user's cycle into its history summary (its counters are there).
            var folded = false
            /// Whether the cycle hash has neither counters nor `history:state`: folded when the profile's
            /// `folded` field names the cycle or a later one (read for these users only).
            var bare = false
            /// Why the user's stored values cannot be read (a wrong type, a non-numeric or negative counter).
            var unreadable: String?
        }
        let batchSize = 2000
        let batches = stride(from: 0, to: users.count, by: batchSize).map {
            Array(users[$0..<min($0 + batchSize, users.count)])
        }
        var counters: [Counters] = []
        counters.reserveCapacity(users.count)
        var read = 0
        try await withThrowingTaskGroup(of: (Int, [Counters]).self) { group in
            var nextBatch = 0
            func startBatch() throws {
                let index = nextBatch
                let batch = batches[index]
                nextBatch += 1
                var reads: [(hash: HMGET, reserved: GET)] = []
                var commands: [RedisCommand] = []
                reads.reserveCapacity(batch.count)
                commands.reserveCapacity(batch.count * 2)
                for user in batch {
                    let userKeys = try keys.user(user)
                    let read = (
                        HMGET(
                            userKeys.cycle(cycleStart),
                            fields: Self.reportFields + [Self.stateField, Self.droppedField]),
                        GET(userKeys.reserved)
                    )
                    reads.append(read)
                    commands.append(read.0.command)
                    commands.append(read.1.command)
                }
                group.addTask {
                    let replies = try await self.pool.pipeline(commands)
                    var result: [Counters] = []
                    result.reserveCapacity(batch.count)
                    for (offset, user) in batch.enumerated() {
                        do {
                            let hash = reads[offset].hash.decodeResult(replies[offset * 2])
                            let (counts, money, reserved) = try self.reportCounters(
                                user: user, cycle: cycleStart, hash: hash,
                                reserved: reads[offset].reserved.decodeResult(replies[offset * 2 + 1]))
                            let fields = (try? hash.get()) ?? [:]
                            let state = fields[Self.stateField]
                            result.append(
                                Counters(
                                    user: user, counts: counts, money: money, reserved: reserved,
                                    folded: state == "folded" || fields[Self.droppedField] != nil,
                                    bare: state == nil && fields["calls"] == nil))
                        } catch {
                            result.append(
                                Counters(user: user, unreadable: (error as? LedgerError)?.message ?? "\(error)"))
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
        // Users whose cycle rollover folded after the dedupe window: their counters are their summary's.
        let bare = counters.indices.filter { counters[$0].bare && counters[$0].unreadable == nil }
        for start in stride(from: 0, to: bare.count, by: 1000) {
            let batch = Array(bare[start..<min(start + 1000, bare.count)])
            let through = try await pool.pipeline(
                try batch.map { HGET(try keys.user(counters[$0].user).profile, field: Self.foldedField) })
            for (index, value) in zip(batch, through)
            where Self.isFolded(state: nil, calls: nil, dropped: nil, cycle: cycleStart, foldedThrough: value) {
                counters[index].folded = true
            }
        }
        let folded = try await closedSummaries(
            .user, ids: counters.filter { $0.folded && $0.unreadable == nil }.map(\.user), cycle: cycleStart)
        for index in counters.indices {
            guard let summary = folded[counters[index].user] else { continue }
            counters[index].counts = summary.counts
            counters[index].money = summary.money
        }
        var totals = UsageReport.Totals()
        var unreadable: [UsageReport.UnreadableUser] = []
        var ranked: [(user: String, key: Int)] = []
        var shown: [String: Counters] = [:]
        ranked.reserveCapacity(counters.count)
        for entry in counters {
            if let reason = entry.unreadable {
                unreadable.append(UsageReport.UnreadableUser(user: entry.user, reason: reason))
                continue
            }
            let counts = entry.counts
            // A user indexed for a cycle with no counters (a reset, a write that failed) is not shown.
            if counts.inputTokens == 0 && counts.outputTokens == 0 && counts.calls == 0 { continue }
            // Each value is at most 2^53 - 1 (checked in reportCounters), so sums over 1000 users are exact.
            if let reason = totals.adding(counts, money: entry.money, reserved: entry.reserved) {
                unreadable.append(UsageReport.UnreadableUser(user: entry.user, reason: reason))
                continue
            }
            ranked.append((entry.user, sort.key(counts, entry.money)))
            shown[entry.user] = entry
        }
        ranked.sort { $0.key != $1.key ? $0.key > $1.key : $0.user < $1.user }
        if let top, ranked.count > top { ranked.removeSubrange(top...) }

        // Phase 2: the shown users' full usage (limit, live reservations, per-model split).
        var rows: [UserUsage] = []
        rows.reserveCapacity(ranked.count)
        for start in stride(from: 0, to: ranked.count, by: 1000) {
            let batch = ranked[start..<min(start + 1000, ranked.count)].map(\.user)
            let calls = try batch.map { user in
                UsageScript(
                    userKeys: try keys.user(user), cycle: cycleStart, assumedPolicy: "*",
                    defaultLimit: settings.defaultLimit, defaultLimitUSD: settings.defaultLimitUSD?.nanoUSD)
            }
            for (user, reply) in zip(batch, try await runEach(calls)) {
                do {
                    // An explicit cycle ("*") never gets a policy reply.
                    guard case .snapshot(let snapshot) = try reply.get() else {
                        throw LedgerError(
                            code: .unexpectedReply, message: "unexpected policy reply to usage for an explicit cycle")
                    }
                    let usage = try makeUsage(user: user, cycle: cycleStart, snapshot, settings: settings)
                    rows.append(snapshot.folded ? Self.applying(folded[user], to: usage) : usage)
                } catch let error as LedgerError where error.code == .corruptData {
                    // Its counters were readable, the rest (per-model counters, limit, leases) is not:
                    // take it out of the totals and list it.
                    if let entry = shown[user] {
                        totals.subtract(entry.counts, money: entry.money, reserved: entry.reserved)
                    }
                    unreadable.append(UsageReport.UnreadableUser(user: user, reason: error.message))
                } catch let error as RedisError where error.code == .server {
                    if let entry = shown[user] {
                        totals.subtract(entry.counts, money: entry.money, reserved: entry.reserved)
                    }
                    unreadable.append(
                        UsageReport.UnreadableUser(
                            user: user, reason: "its stored data cannot be read: \(error.message)"))
                }
            }
        }
        unreadable.sort { $0.user < $1.user }
        return UsageReport(cycle: cycleStart, users: rows, totals: totals, unreadable: unreadable)
    }

    /// The cycle hash fields phase 1 of a report reads (every counter but the derived total, and the
    /// money).
    static let reportFields =
        [
            "input_tokens", "output_tokens", "calls", "cached_input_tokens", "cache_write_tokens", "reasoning_tokens",
        ] + CycleCost.storedFields

    /// One user's phase-1 report counters, money and reservation from its `HMGET` and `GET` replies: each
    /// absent (0) or a non-negative integer up to 2^53 − 1, else a ``LedgerError``
    /// (``LedgerError/Code/corruptData``) naming the key and field.
    private func reportCounters(
        user: String, cycle: CalendarDate, hash: Result<[String: String], RedisError>,
        reserved: Result<String?, RedisError>
    ) throws(LedgerError) -> (TokenCounts, CycleCost, Int) {
        // The user came from the index, which only holds valid user ids.
        let userKeys = try? keys.user(user)
        let cycleKey = userKeys?.cycle(cycle) ?? "user '\(user)' cycle \(cycle)"
        let fields: [String: String]
        switch hash {
        case .success(let values): fields = values
        case .failure(let error) where error.code == .server:
            throw LedgerError(
                code: .corruptData, message: "\(cycleKey) cannot be read as a hash (\(error.serverCode ?? "error"))")
        case .failure:
            throw LedgerError(code: .corruptData, message: "\(cycleKey) cannot be read as a hash")
        }
        var counts = TokenCounts.zero
        var money = CycleCost()
        for field in Self.reportFields {
            guard let text = fields[field] else { continue }
            let value = try TokenCounts.storedCounter(.bulk(Array(text.utf8)), key: cycleKey, field: field)
            guard value <= Validation.maximumLimit else {
                throw LedgerError(
                    code: .corruptData, message: "\(cycleKey) field \(field) is \(value), beyond 2^53 - 1")
            }
            if !money.set(storedField: field, to: value) { counts.set(storedField: field, to: value) }
        }
        let reservedKey = userKeys?.reserved ?? "user '\(user)' reserved"
        switch reserved {
        case .success(nil):
            return (counts, money, 0)
        case .success(let text?):
            let value = try TokenCounts.storedCounter(.bulk(Array(text.utf8)), key: reservedKey, field: "value")
            guard value <= Validation.maximumLimit else {
                throw LedgerError(code: .corruptData, message: "\(reservedKey) is \(value), beyond 2^53 - 1")
            }
            return (counts, money, value)
        case .failure(let error):
            throw LedgerError(
                code: .corruptData,
                message: "\(reservedKey) cannot be read as a number (\(error.serverCode ?? "error"))")
        }
    }

    /// Rebuilds a cycle's cross-user index from the per-user keys (SCAN), adding missing users.
    ///
    /// - Returns: The number of users found.
    @discardableResult
    public func rebuildIndex(cycle: CalendarDate) async throws -> Int {
        var found = 0
        try await pool.scan(match: keys.cyclePattern(cycle), count: 1000).forEachBatch(of: 1000) { names in
            let users = names.compactMap { keys.userID(fromKey: String(decoding: $0, as: UTF8.self)) }
            if !users.isEmpty {
                _ = try await run(IndexScript(keySet: keys, cycle: cycle, users: users))
                found += users.count
            }
        }
        return found
    }

    private func indexedUsers(_ cycle: CalendarDate) async throws -> [String] {
        var users: [String] = []
        for try await member in pool.sscan(keys.index(cycle), count: 10_000) {
            users.append(String(decoding: member, as: UTF8.self))
        }
        return users
    }

    func makeUsage(
        user: String, cycle: CalendarDate, _ snapshot: CycleSnapshot, settings: Settings, lenient: Bool = false,
        scope: LedgerScope? = nil
    ) throws -> UserUsage {
        let scopeKeys = try keys.scope(scope ?? .user(user))
        let policy = try Self.policy(stored: snapshot.storedPolicy, user: user, settings: settings)
        let target = policy.cycle(startingOn: cycle)
        try Self.checkDateRange(target)
        var usage = UserUsage(
            user: user, cycle: cycle, cycleEnd: target.end, limit: snapshot.limit, reserved: snapshot.reserved)
        let key = scopeKeys.cycle(cycle)
        guard snapshot.reserved >= 0 || lenient else {
            throw LedgerError(
                code: .corruptData,
                message: "\(scopeKeys.reserved) is \(snapshot.reserved), not a non-negative integer")
        }
        try usage.apply(cycleHash: snapshot.cycleHash, key: key, lenient: lenient)
        try usage.applyCurrency(snapshot, key: key)
        return usage
    }
}

import Foundation
import RedisClient

/// A call applied to a cycle after rollover closed it, as the record and settle scripts keep it in
/// the user's `late:<cycle>` hash until the history holds it (JSON, integers only).
struct LateAdjustment: Sendable, Hashable, Codable {
    var callID: String
    var model: String
    var inputTokens: Int
    var outputTokens: Int
    var cachedInputTokens: Int
    var cacheWriteTokens: Int
    var reasoningTokens: Int
    /// When it was applied (ms since 1970, Redis server clock).
    var at: Int
    /// The call's cost in nano-USD (-1: unpriced); `nil` in adjustments written before cost.
    var costNano: Int?
    /// The provider-reported cost in nano-USD (-1: not reported); `nil` as ``costNano``.
    var reportedCostNano: Int?

    /// The call's counts (`calls` is 1).
    var counts: TokenCounts {
        TokenCounts(
            inputTokens: inputTokens, outputTokens: outputTokens, cachedInputTokens: cachedInputTokens,
            cacheWriteTokens: cacheWriteTokens, reasoningTokens: reasoningTokens, calls: 1)
    }

    enum CodingKeys: String, CodingKey {
        case model, at
        case callID = "call_id"
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case cachedInputTokens = "cached_input_tokens"
        case cacheWriteTokens = "cache_write_tokens"
        case reasoningTokens = "reasoning_tokens"
        case costNano = "cost_nano"
        case reportedCostNano = "reported_cost_nano"
    }

    /// The adjustments in a `late:<cycle>` hash as a script returns it (field, value, field, value, …).
    static func decodeAll(_ hash: [RedisReply], key: String) throws -> [(
        callID: String, json: String, value: LateAdjustment
    )] {
        try decodeAll(
            stride(from: 0, to: hash.count - 1, by: 2).map { (hash[$0].string ?? "", hash[$0 + 1].string ?? "") },
            key: key)
    }

    /// The adjustments in a `late:<cycle>` hash as `HGETALL` returns it, by call id.
    static func decodeAll(_ hash: [String: String], key: String) throws -> [(
        callID: String, json: String, value: LateAdjustment
    )] {
        try decodeAll(hash.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, key: key)
    }

    /// The adjustments from (call id, JSON) pairs.
    private static func decodeAll(_ pairs: [(String, String)], key: String) throws -> [(
        callID: String, json: String, value: LateAdjustment
    )] {
        var entries: [(String, String, LateAdjustment)] = []
        let decoder = JSONDecoder()
        for (callID, text) in pairs {
            guard let value = try? decoder.decode(LateAdjustment.self, from: Data(text.utf8)),
                [
                    value.inputTokens, value.outputTokens, value.cachedInputTokens, value.cacheWriteTokens,
                    value.reasoningTokens,
                ].allSatisfy({ (0...1_000_000_000_000).contains($0) })
            else {
                throw LedgerError(
                    code: .corruptData, message: "\(key) holds an invalid adjustment for call id '\(callID)'")
            }
            entries.append((callID, text, value))
        }
        return entries
    }
}

extension UserUsage {
    /// Takes a late call's counts out (rollover's snapshot includes calls that are pending adjustments).
    mutating func remove(_ late: LateAdjustment) {
        counts = counts - late.counts
        if var entry = models[late.model] {
            entry.inputTokens -= late.inputTokens
            entry.outputTokens -= late.outputTokens
            entry.totalTokens = entry.inputTokens + entry.outputTokens
            entry.calls -= 1
            if let cost = late.costNano, cost >= 0 {
                entry.cost = entry.cost.map { Cost(nanoUSD: $0.nanoUSD - cost) }
            } else if late.costNano != nil {
                entry.unpricedCalls -= 1
            }
            models[late.model] = entry.calls == 0 && entry.totalTokens == 0 ? nil : entry
        }
        if let cost = late.costNano, cost >= 0 {
            money.cost = money.cost.map { Cost(nanoUSD: $0.nanoUSD - cost) }
        } else if late.costNano != nil {
            money.unpricedCalls -= 1
        }
        if let reported = late.reportedCostNano, reported >= 0 {
            money.reportedCost = money.reportedCost.map { Cost(nanoUSD: $0.nanoUSD - reported) }
        }
    }
}

/// What applying a user's pending adjustments of one closed cycle did.
struct LateAmendment: Sendable, Hashable {
    /// Adjustments newly added to the history.
    var applied = 0
    /// Adjustments the history already held (a retry after a crash): forgotten in the user's slot.
    var duplicates = 0
    /// Adjustments kept pending because the user's summary is not in the history yet.
    var waiting = 0
}

extension TokenRepository {
    /// Amends the history of a closed cycle with the user's pending late calls, logging (not
    /// throwing) a failure: what is left pending is applied by the next `rollover`.
    func amendHistoryNow(user: String, cycle: CalendarDate) async {
        do {
            _ = try await amendHistory(user: user, cycle: cycle)
        } catch {
            logger.warning(
                "history amendment deferred to the next rollover",
                metadata: ["tokenledger.cycle": "\(cycle)", "tokenledger.error": "\(error)"])
        }
    }

    /// Applies the user's pending adjustments of `cycle` (the `late:<cycle>` hash) to the {global}
    /// history, each once per (user, call id) (`history_adjust.lua`), then forgets them in the
    /// user's slot (`late_done.lua`). A process that dies in between leaves them pending; applying
    /// them again finds them in the history and only forgets them.
    ///
    /// - Parameter pending: The adjustments when the caller already read them.
    func amendHistory(
        user: String, cycle: CalendarDate, pending: [(callID: String, json: String, value: LateAdjustment)]? = nil
    ) async throws -> LateAmendment {
        try await amendHistory(scope: .user(user), cycle: cycle, pending: pending)
    }

    /// ``amendHistory(user:cycle:pending:)`` for any scope: a team's or an org's late calls amend the
    /// kind's history (`scope-history…` keys), where the group's summary is under its id.
    func amendHistory(
        scope: LedgerScope, cycle: CalendarDate, pending: [(callID: String, json: String, value: LateAdjustment)]? = nil
    ) async throws -> LateAmendment {
        let user = scope.id
        let lateKey = try keys.scope(scope).late(cycle)
        let entries: [(callID: String, json: String, value: LateAdjustment)]
        if let pending {
            entries = pending
        } else {
            entries = try LateAdjustment.decodeAll(try await pool.send(HGETALL(lateKey)), key: lateKey)
        }
        var outcome = LateAmendment()
        if entries.isEmpty { return outcome }
        let replies = try await runAll(
            entries.map { entry in
                HistoryAdjustScript(
                    keySet: keys, cycle: cycle, user: user, callID: entry.callID, json: entry.json, kind: scope.kind)
            })
        var done: [String] = []
        for (entry, reply) in zip(entries, replies) {
            switch reply {
            case .applied:
                outcome.applied += 1
                done.append(entry.callID)
                metrics.historyAdjustment()
                logger.info(
                    "closed cycle amended by a late call",
                    metadata: ["tokenledger.cycle": "\(cycle)", "tokenledger.call_id": "\(entry.callID)"])
            case .duplicate:
                outcome.duplicates += 1
                done.append(entry.callID)
            case .unclosed:
                outcome.waiting += 1
            }
        }
        if !done.isEmpty { _ = try await run(LateDoneScript(lateKey: lateKey, callIDs: done)) }
        return outcome
    }
}

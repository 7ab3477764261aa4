import Foundation
import RedisClient

/// The compact form of a ``CycleSummary``, which rollover writes to the history in place of the
/// full JSON once the cycle's dedupe window has passed (when it folds the user's cycle hash into the
/// summary; docs/schema.md, "Closed cycles past the window").
///
/// A flat JSON object holding what the cycle hash held, under short names, every counter an integer
/// and absent when 0 (a cost when unknown): `e` the cycle's end as days after its start, `l` the limit
/// (absent: unlimited),
/// `a` the late calls added, `i`/`o`/`n` input and output tokens and calls, `ci`/`cw`/`r` cached
/// input, cache write and reasoning tokens, `c` the cost in nano-USD (absent: `null`), `u` unpriced
/// calls, `rc` the reported cost in nano-USD (absent: `null`), `p` the primary model (absent: the
/// model named `""`, calls that named none), and per other model `mi:`/`mo:`/`mn:`/`mc:`/`mu:` + the
/// model name. The primary model's counters are derived
/// (the cycle's minus the other models'), as in the cycle hash. The user and the cycle are the
/// history's field and key, so the form does not repeat them.
enum CompactSummary {
    /// Short name → the cycle hash field it stands for (the counters ``UserUsage`` reads).
    static let counterFields: [String: String] = [
        "i": "input_tokens", "o": "output_tokens", "n": "calls", "ci": "cached_input_tokens",
        "cw": "cache_write_tokens", "r": "reasoning_tokens", "c": "cost_nano", "u": "unpriced_calls",
        "rc": "reported_cost_nano",
    ]
    /// Short per-model prefix → the cycle hash's per-model prefix.
    static let modelPrefixes: [String: String] = [
        "mi:": "m:input_tokens:", "mo:": "m:output_tokens:", "mn:": "m:calls:", "mc:": "m:cost_nano:",
        "mu:": "m:unpriced_calls:",
    ]

    /// One value of the object: a counter or a text (the end date, the primary model).
    enum Value: Codable, Equatable {
        case number(Int)
        case text(String)

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let number = try? c.decode(Int.self) {
                self = .number(number)
            } else {
                self = .text(try c.decode(String.self))
            }
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .number(let number): try c.encode(number)
            case .text(let text): try c.encode(text)
            }
        }
    }

    /// The compact JSON of a summary, or `nil` when reading it back would not give the same summary
    /// (per-model figures that do not add up to the cycle's, from data written by hand): such a
    /// summary stays in its full form.
    static func encode(_ summary: CycleSummary) -> String? {
        var object: [String: Value] = ["e": .number(summary.cycleEnd.daysSince1970 - summary.cycle.daysSince1970)]
        if let limit = summary.limit { object["l"] = .number(limit) }
        if summary.adjustments != 0 { object["a"] = .number(summary.adjustments) }
        let counts = summary.counts.reportingEverySubset
        let counters: [(String, Int?)] = [
            ("i", counts.inputTokens), ("o", counts.outputTokens), ("n", counts.calls),
            ("ci", counts.cachedInputTokens), ("cw", counts.cacheWriteTokens), ("r", counts.reasoningTokens),
            ("u", summary.money.unpricedCalls),
        ]
        for (name, value) in counters where (value ?? 0) != 0 { object[name] = .number(value ?? 0) }
        if let cost = summary.money.cost { object["c"] = .number(cost.nanoUSD) }
        if let reported = summary.money.reportedCost { object["rc"] = .number(reported.nanoUSD) }
        // The model with the most calls is the primary one (derived); the others are explicit.
        let primary = summary.models.max { ($0.value.calls, $1.key) < ($1.value.calls, $0.key) }?.key
        if let primary, !primary.isEmpty { object["p"] = .text(primary) }
        for (model, usage) in summary.models where model != primary {
            let values: [(String, Int)] = [
                ("mi:", usage.inputTokens), ("mo:", usage.outputTokens), ("mn:", usage.calls),
                ("mu:", usage.unpricedCalls),
            ]
            for (prefix, value) in values where value != 0 { object[prefix + model] = .number(value) }
            if let cost = usage.cost, cost.nanoUSD != 0 { object["mc:" + model] = .number(cost.nanoUSD) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(object) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let back = try? decode(text, user: summary.user, cycle: summary.cycle), back == summary else {
            return nil
        }
        return text
    }

    /// Whether a stored summary is in the compact form (it has `e`, the full form `cycle_end`).
    /// Decided by the object's own members, never by a substring: a model named `cycle_end` (a
    /// value or a nested key) must not make a compact summary look full.
    static func isCompact(_ text: String) -> Bool {
        guard text.hasPrefix("{"),
            let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        else { return false }
        return object["e"] != nil && object["cycle_end"] == nil
    }

    /// The summary a compact JSON object holds, for `user`'s cycle `cycle`.
    ///
    /// - Throws: ``LedgerError`` (``LedgerError/Code/corruptData``) when the text is not a compact
    ///   summary or a counter is not a non-negative integer.
    static func decode(_ text: String, user: String, cycle: CalendarDate) throws -> CycleSummary {
        let what = "the compact summary of '\(user)' for cycle \(cycle)"
        guard let object = try? JSONDecoder().decode([String: Value].self, from: Data(text.utf8)),
            case .number(let days) = object["e"], (1...400).contains(days)
        else {
            throw LedgerError(code: .corruptData, message: "\(what) is not valid: \(text)")
        }
        var limit: Int?
        if case .number(let value) = object["l"] { limit = value }
        var adjustments = 0
        if case .number(let value) = object["a"] { adjustments = value }
        let end = cycle.adding(days: days)
        // The cycle hash the summary stands for, as HGETALL would return it (absent `p`: the model `""`).
        var hash: [RedisReply] = object["p"] == nil ? [.bulk(Array(UserUsage.primaryModelField.utf8)), .bulk([])] : []
        for (name, value) in object {
            let field: String
            if let counter = counterFields[name] {
                field = counter
            } else if name == "p" {
                field = UserUsage.primaryModelField
            } else if let colon = name.firstIndex(of: ":"),
                let prefix = modelPrefixes[String(name[...colon])]
            {
                field = prefix + name[name.index(after: colon)...]
            } else {
                continue
            }
            switch value {
            case .number(let number): hash += [.bulk(Array(field.utf8)), .bulk(Array(String(number).utf8))]
            case .text(let text): hash += [.bulk(Array(field.utf8)), .bulk(Array(text.utf8))]
            }
        }
        var usage = UserUsage(user: user, cycle: cycle, cycleEnd: end, limit: limit)
        try usage.apply(cycleHash: hash, key: what)
        var summary = CycleSummary(usage)
        summary.adjustments = adjustments
        return summary
    }
}

extension CycleSummary {
    /// A summary as the history stores it: the full JSON rollover writes at the close, or the
    /// compact form (``CompactSummary``) it is folded into once the dedupe window has passed.
    ///
    /// - Parameters:
    ///   - text: The stored value.
    ///   - user: The history field it was read from (the user or group id).
    ///   - cycle: The cycle of the history key.
    /// - Throws: ``LedgerError`` (``LedgerError/Code/corruptData``) naming `key` when it is neither.
    static func stored(_ text: String, user: String, cycle: CalendarDate, key: String) throws -> CycleSummary {
        if CompactSummary.isCompact(text) {
            do {
                return try CompactSummary.decode(text, user: user, cycle: cycle)
            } catch {
                throw LedgerError(code: .corruptData, message: "\(key) holds an invalid summary for '\(user)': \(text)")
            }
        }
        do {
            return try JSONDecoder().decode(CycleSummary.self, from: Data(text.utf8))
        } catch {
            throw LedgerError(code: .corruptData, message: "\(key) holds an invalid summary for '\(user)': \(text)")
        }
    }
}

import RedisClient

extension TokenCounts {
    /// The cycle hash fields that hold counters (the scripts store input and output, never the total).
    static let storedFields: Set<String> = [
        "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens", "reasoning_tokens", "calls",
    ]

    /// The counts of a cycle hash as `HGETALL` returns it (field, value, field, value, …): every
    /// subset reported (`0` when the hash has none), other fields (per-model counters, the primary
    /// model) ignored.
    ///
    /// Values read back from Redis are checked (SPEC "Bad input"): a counter that is not a
    /// non-negative integer, or input plus output beyond 64 bits, is reported, never read as 0.
    ///
    /// - Parameters:
    ///   - cycleHash: The hash's fields and values.
    ///   - key: The hash's key, named in the error.
    ///   - lenient: Skip counters that are not non-negative integers instead of refusing them (only
    ///     for `reset`, which repairs such a cycle).
    /// - Throws: ``LedgerError`` with code ``LedgerError/Code/corruptData`` naming the key and field.
    init(cycleHash: [RedisReply], key: String, lenient: Bool = false) throws(LedgerError) {
        var counts = TokenCounts.zero
        try Self.readStoredCounters(cycleHash, fields: Self.storedFields, key: key, lenient: lenient) {
            counts.set(storedField: $0, to: $1)
        }
        self = counts
        guard !inputTokens.addingReportingOverflow(outputTokens).overflow else {
            throw LedgerError(
                code: .corruptData,
                message:
                    "\(key): input_tokens + output_tokens (\(inputTokens) + \(outputTokens)) does not fit in 64 bits")
        }
    }

    /// Sets the counter a stored field names (``storedFields``); returns false for any other field.
    @discardableResult
    mutating func set(storedField field: String, to value: Int) -> Bool {
        switch field {
        case "input_tokens": inputTokens = value
        case "output_tokens": outputTokens = value
        case "cached_input_tokens": cachedInputTokens = value
        case "cache_write_tokens": cacheWriteTokens = value
        case "reasoning_tokens": reasoningTokens = value
        case "calls": calls = value
        default: return false
        }
        return true
    }

    /// Calls `body` with each of `fields` that a cycle hash (as `HGETALL` returns it: field, value,
    /// …) holds, and its value checked by ``storedCounter(_:key:field:)``: the one loop the token
    /// counters and the money (``CycleCost``) are read with.
    ///
    /// - Parameters:
    ///   - lenient: Skip values that are not non-negative integers instead of refusing them (`reset`).
    /// - Throws: ``LedgerError`` (``LedgerError/Code/corruptData``) naming the key and field.
    static func readStoredCounters(
        _ cycleHash: [RedisReply], fields: Set<String>, key: String, lenient: Bool, _ body: (String, Int) -> Void
    ) throws(LedgerError) {
        for index in stride(from: 0, to: cycleHash.count - 1, by: 2) {
            guard let field = cycleHash[index].string, fields.contains(field) else { continue }
            let value: Int
            do {
                value = try storedCounter(cycleHash[index + 1], key: key, field: field)
            } catch  where lenient {
                continue
            }
            body(field, value)
        }
    }

    /// A counter as stored: a non-negative integer, else a ``LedgerError`` naming the key and field.
    static func storedCounter(_ reply: RedisReply, key: String, field: String) throws(LedgerError) -> Int {
        guard let value = reply.int, value >= 0 else {
            let shown: String
            if let text = reply.string {
                shown = "'" + (text.count > 40 ? String(text.prefix(40)) + "…" : text) + "'"
            } else {
                shown = "not a string"
            }
            throw LedgerError(
                code: .corruptData,
                message: "\(key) field \(field) is \(shown), not a non-negative integer; fix or reset the cycle")
        }
        return Int(value)
    }
}

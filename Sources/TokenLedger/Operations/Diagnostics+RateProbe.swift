import RedisClient

// Diagnostics: the probe of the rate-limit keys (`rate`, `rate-tokens`), which the scripts touch only
// for a scope with a rate limit, so an ACL without them passes every other probe.
extension Diagnostics {
    /// The commands the scripts run on a scope's rate keys, each in a form that changes nothing on the
    /// probe user's keys (absent): `ZADD XX` adds nothing to a missing key, `ZREM`, `HDEL` and
    /// `PEXPIRE` find nothing.
    static func rateProbes(_ userKeys: LedgerKeys.User) -> [RedisCommand] {
        [
            RedisCommand("ZRANGEBYSCORE", userKeys.rate, "-inf", "+inf", "LIMIT", "0", "1"),
            RedisCommand("ZCARD", userKeys.rate),
            RedisCommand("ZCOUNT", userKeys.rate, "-inf", "+inf"),
            RedisCommand("ZADD", userKeys.rate, "XX", "0", "doctor-probe"),
            RedisCommand("ZREM", userKeys.rate, "doctor-probe"),
            RedisCommand("PEXPIRE", userKeys.rate, "61000"),
            RedisCommand("HGET", userKeys.rateTokens, ""),
            RedisCommand("HDEL", userKeys.rateTokens, "doctor-probe"),
            RedisCommand("PEXPIRE", userKeys.rateTokens, "61000"),
        ]
    }

    /// The rate-key commands (`ZADD rate`, `HDEL rate-tokens`, `HSET rate-tokens`, …) this user may not
    /// run, as `COMMAND key-kind` texts; empty when it may run them all.
    static func refusedRateCommands(_ pool: RedisConnectionPool, _ userKeys: LedgerKeys.User) async throws
        -> [String]
    {
        var refused: [String] = []
        for command in rateProbes(userKeys) where !(try await isPermitted({ _ = try await pool.send(command) })) {
            refused.append(probeName(command))
        }
        // `HSET` cannot be asked without writing: once `HDEL` is known to work, the probe sets a field
        // on the probe user's (absent) `rate-tokens` and removes it at once, leaving nothing behind.
        if !refused.contains("HDEL rate-tokens") {
            let set = RedisCommand("HSET", userKeys.rateTokens, "doctor-probe", "0")
            if try await isPermitted({ _ = try await pool.send(set) }) {
                _ = try await pool.send(RedisCommand("HDEL", userKeys.rateTokens, "doctor-probe"))
            } else {
                refused.append(probeName(set))
            }
        }
        return refused
    }

    /// A probe command as `COMMAND key-kind` (`ZADD rate`, `HSET rate-tokens`).
    private static func probeName(_ command: RedisCommand) -> String {
        let words = command.arguments.prefix(2).map { String(decoding: $0, as: UTF8.self) }
        let kind = words.last?.hasSuffix(":rate-tokens") == true ? "rate-tokens" : "rate"
        return "\(words[0]) \(kind)"
    }

    /// The `permissions` failure of a user who runs the scripts but may not use the rate keys.
    static func rateRefusal(who: String, namespace: String, refused: [String]) -> Check {
        Check(
            name: "permissions", status: .fail,
            detail:
                "\(who) runs TokenLedger's scripts on '\(namespace):*' but may not use the rate-limit keys "
                + "(refused: \(refused.joined(separator: ", "))): every call of a scope with a tpm or rpm limit "
                + "will fail; add the rate rules of docs/operations.md, Least privilege (+zcard +zcount, "
                + "%R~\(namespace):*:rate %R~\(namespace):*:rate-tokens, (+zadd +zrem +pexpire ~\(namespace):*:rate) "
                + "(+hset +hdel +pexpire ~\(namespace):*:rate-tokens))")
    }
}

import RedisClient
import TokenLedger

extension TokenLedgerServer {
    /// Makes sure every TokenLedger Lua script is in the script cache of each server that serves
    /// the namespace (the standalone server, or every master of a Redis Cluster): `SCRIPT EXISTS`
    /// for the registry's digests, then `SCRIPT LOAD` of the missing ones. Part of readiness: a
    /// server restarted without persistence, or after `SCRIPT FLUSH`, answers `NOSCRIPT` until they
    /// are loaded again, and a least-privilege application user may run them but not load them.
    ///
    /// - Returns: `nil` when every script is loaded (now, or before); otherwise the reason, naming
    ///   the missing scripts and what to do (the Redis user may not load scripts: run
    ///   `tokenledger migrate` as the administrator).
    /// - Throws: `RedisError` when Redis does not answer; ``LedgerError`` when a script is missing
    ///   from the installation or the server's digest of one differs from ours.
    func scriptsProblem() async throws -> String? {
        let all = try Diagnostics.allScripts(repository)
        let names = all.keys.sorted()
        let digests = names.map { all[$0]!.sha1 }
        let nodes =
            try await pool.clusterTopology()?.servingMasters.map(\.endpoint) ?? [pool.configuration.endpoint]
        for node in nodes {
            let loaded = try await pool.send(SCRIPT.EXISTS(digests), to: node)
            let missing = names.filter { loaded[all[$0]!.sha1] != true }
            for name in missing {
                let digest: String
                do {
                    digest = try await pool.send(SCRIPT.LOAD(all[name]!), to: node)
                } catch let error as RedisError where error.isPermissionDenied {
                    let listed = missing.prefix(5).map { "\($0).lua" }.joined(separator: ", ")
                    return "\(missing.count) of \(names.count) Lua scripts are not loaded (\(listed)"
                        + (missing.count > 5 ? ", …" : "")
                        + ") and this Redis user may not load them: run tokenledger migrate as the administrator"
                }
                guard digest == all[name]!.sha1 else {
                    throw LedgerError(
                        code: .scriptMismatch,
                        message: "\(name).lua: the server's digest \(digest) differs from \(all[name]!.sha1)")
                }
            }
            if !missing.isEmpty {
                logger.notice("loaded missing lua scripts", metadata: ["count": "\(missing.count)"])
            }
        }
        return nil
    }
}

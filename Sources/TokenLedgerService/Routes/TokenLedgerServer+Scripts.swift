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
        let masters = try await pool.clusterTopology()?.servingMasters.map(\.endpoint)
        for node in masters ?? [pool.configuration.endpoint] {
            let loaded = try await pool.send(SCRIPT.EXISTS(digests), to: node)
            let missing = names.filter { loaded[all[$0]!.sha1] != true }
            let loads = missing.map { SCRIPT.LOAD(all[$0]!) }
            var results: [Result<String, RedisError>] = []
            if masters == nil {
                results = try await pool.pipelineResults(loads)  // one round trip on a single server
            } else {
                for load in loads {
                    do {
                        results.append(.success(try await pool.send(load, to: node)))
                    } catch let error as RedisError {
                        results.append(.failure(error))
                    }
                }
            }
            for (name, result) in zip(missing, results) {
                let digest: String
                switch result {
                case .success(let value):
                    digest = value
                case .failure(let error) where error.isPermissionDenied:
                    let listed = missing.prefix(5).map { "\($0).lua" }.joined(separator: ", ")
                    return "\(missing.count) of \(names.count) Lua scripts are not loaded (\(listed)"
                        + (missing.count > 5 ? ", …" : "")
                        + ") and this Redis user may not load them: run tokenledger migrate as the administrator"
                case .failure(let error):
                    throw error
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

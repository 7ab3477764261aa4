import RedisClient

// A namespace without a schema version: empty, it starts at this build's version; holding data, it
// was written by a build before schema versions (or its version key was lost), so its layout is not
// known and writing the current layout beside it would mix the two.
extension TokenRepository {
    /// The namespace-wide keys whose presence shows that a namespace holds data (the cycles with an
    /// index, the settings, the history, the migrations applied). Prices and API keys do not count:
    /// they have no layout that changed, and may be set up before the first record.
    var dataMarkerKeys: [String] { [keys.indexedCycles, keys.config, keys.historyCycles, keys.migrations] }

    /// Called by ``ensureWritableSchema()`` when `<ns>:{global}:schema` is absent: refuses to write
    /// when the namespace holds data (``dataMarkerKeys``; one the Redis user may not read is not
    /// counted), else records this build's schema version (`SET NX`, `migration.lua`; a user refused
    /// the write, such as the application's least-privilege user, goes on without recording it:
    /// `tokenledger migrate` records it).
    ///
    /// - Throws: ``LedgerError`` with code ``LedgerError/Code/olderSchema`` (exit 65) naming
    ///   `tokenledger migrate` when the namespace has data but no version, or when another writer
    ///   recorded an older version meanwhile; ``LedgerError/Code/newerSchema`` for a newer one.
    func startSchemaOrRefuseUnversionedData() async throws {
        let results = try await pool.pipelineResults(dataMarkerKeys.map { EXISTS($0) })
        var found: [String] = []
        for (key, result) in zip(dataMarkerKeys, results) {
            switch result {
            case .success(let count) where count > 0: found.append(key)
            case .success: continue
            case .failure(let error) where error.isPermissionDenied: continue
            case .failure(let error): throw error
            }
        }
        if let key = found.first {
            throw LedgerError(
                code: .olderSchema,
                message:
                    "namespace '\(keys.namespace)' holds data (\(key)) but no schema version (\(keys.schema)): it was "
                    + "written by an older tokenledger, whose layout differs; nothing was written: run tokenledger "
                    + "migrate first")
        }
        let stored: Int?
        do {
            stored = try await run(
                MigrationScript(keys: [keys.schema], operation: .schema(version: LedgerKeys.schemaVersion)))
        } catch let error as RedisError where error.isPermissionDenied {
            return
        }
        guard let stored, stored != LedgerKeys.schemaVersion else { return }
        throw LedgerError(
            code: stored > LedgerKeys.schemaVersion ? .newerSchema : .olderSchema,
            message:
                "namespace '\(keys.namespace)' has schema version \(stored), not this build's "
                + "\(LedgerKeys.schemaVersion); nothing was written: run tokenledger migrate (or upgrade tokenledger)")
    }
}

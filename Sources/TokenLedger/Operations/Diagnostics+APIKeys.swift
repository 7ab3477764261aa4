import RedisClient

extension Diagnostics {
    /// Whether the connected user may read API key records (`HGET` of `NS:{global}:apikeys`, with
    /// a field no key has): what `tokenledger serve`, running as this user, needs to authenticate
    /// requests. A refusal is a warning naming the ACL rule to add, not an error: the user may be
    /// one that serves no HTTP.
    static func apiKeys(_ repository: TokenRepository) async throws -> Check {
        let hash = repository.keys.apiKeys
        do {
            _ = try await repository.pool.send(HGET(hash, field: "doctor-probe"))
            return Check(
                name: "api keys", status: .ok,
                detail: "this user may read API key records: tokenledger serve can authenticate requests as it")
        } catch let error as RedisError where isPermissionError(error) {
            return Check(
                name: "api keys", status: .warn,
                detail:
                    "this user may not read '\(hash)': tokenledger serve running as it cannot authenticate any request; add (+hget %R~\(hash)) to its ACL (docs/operations.md, Least privilege)"
            )
        }
    }
}

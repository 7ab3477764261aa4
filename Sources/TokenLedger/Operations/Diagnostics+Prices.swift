import RedisClient

extension Diagnostics {
    /// Whether the connected user may read the price overrides (`HGET` of `NS:{global}:prices`, with a
    /// field no model has), which pricing events needs, and the date of the default price file. A
    /// refusal is a warning naming the ACL rule to add: until then only the default prices are known
    /// to this user.
    static func prices(_ repository: TokenRepository) async throws -> Check {
        let hash = repository.keys.prices
        let asOf: String
        do {
            let file = try PriceFile.bundled()
            asOf = "default prices as of \(file.asOf)"
        } catch {
            return Check(name: "prices", status: .fail, detail: error.message)
        }
        do {
            _ = try await repository.pool.send(HGET(hash, field: "doctor-probe"))
            return Check(name: "prices", status: .ok, detail: "this user may read the price overrides; \(asOf)")
        } catch let error as RedisError where isPermissionError(error) {
            return Check(
                name: "prices", status: .warn,
                detail:
                    "this user may not read '\(hash)': price overrides are unknown to it; add %R~\(hash) to its ACL (docs/operations.md, Least privilege); \(asOf)"
            )
        }
    }
}

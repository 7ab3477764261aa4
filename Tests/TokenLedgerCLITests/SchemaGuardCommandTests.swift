import Foundation
import RedisTestSupport
import Testing

/// Issue 21: a namespace holding data but no schema version was written by an older build; writing
/// the current layout beside it would mix the two, so every writer refuses until `migrate` ran. An
/// empty namespace starts at the current version.
@Suite("tokenledger: writers refuse an unversioned namespace that holds data")
struct SchemaGuardCommandTests {
    @Test("an empty namespace starts at version 2; with data and no version every writer exits 65 naming migrate")
    func unversionedData() async throws {
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "sg"]
            func redis(_ arguments: [String]) async throws -> String {
                try await Program.run("redis-cli", ["-p", "\(server.port)", "--raw"] + arguments).stdout
            }
            let first = try await CLI.run(["record", "lu", "--input", "3", "--output", "1"], environment: env)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(try await redis(["GET", "sg:{global}:schema"]) == "2\n")
            // The version key lost (or never written, as builds before schema versions did).
            #expect(try await redis(["DEL", "sg:{global}:schema"]) == "1\n")
            let before = try await redis([
                "HGETALL",
                "sg:{lu}:cycle:"
                    + (try await redis(["SMEMBERS", "sg:{global}:cycles"])).trimmingCharacters(
                        in: .whitespacesAndNewlines),
            ])
            for arguments in [
                ["record", "lu", "--input", "1", "--output", "1"], ["limit", "set", "lu", "5"],
                ["quota", "reserve", "lu", "--tokens", "1", "--call-id", "a"],
            ] {
                let result = try await CLI.run(arguments, environment: env)
                #expect(result.status == 65, "\(arguments): \(result.stderr)")
                #expect(
                    result.stderr.contains("no schema version") && result.stderr.contains("tokenledger migrate"),
                    "\(arguments): \(result.stderr)")
            }
            #expect(try await redis(["EXISTS", "sg:{global}:schema"]) == "0\n")
            #expect(try await redis(["EXISTS", "sg:{lu}:profile", "sg:{lu}:leases"]) == "0\n")
            let after = try await redis([
                "HGETALL",
                "sg:{lu}:cycle:"
                    + (try await redis(["SMEMBERS", "sg:{global}:cycles"])).trimmingCharacters(
                        in: .whitespacesAndNewlines),
            ])
            #expect(after == before && before.contains("input_tokens"))
            // migrate records the version; writes work again.
            let migrate = try await CLI.run(["migrate"], environment: env)
            #expect(migrate.status == 0, "\(migrate.stderr)")
            let again = try await CLI.run(["record", "lu", "--input", "1", "--output", "1"], environment: env)
            #expect(again.status == 0, "\(again.stderr)")
            // The key lost after every migration was applied: migrate has nothing left to run, and
            // still records the version, so writers are not refused for good.
            #expect(try await redis(["DEL", "sg:{global}:schema"]) == "1\n")
            let refused = try await CLI.run(["record", "lu", "--input", "1", "--output", "1"], environment: env)
            #expect(refused.status == 65, "\(refused.stderr)")
            let remigrate = try await CLI.run(["migrate"], environment: env)
            #expect(remigrate.status == 0, "\(remigrate.stderr)")
            #expect(try await redis(["GET", "sg:{global}:schema"]) == "2\n")
            let restored = try await CLI.run(["record", "lu", "--input", "1", "--output", "1"], environment: env)
            #expect(restored.status == 0, "\(restored.stderr)")
        }
    }
}

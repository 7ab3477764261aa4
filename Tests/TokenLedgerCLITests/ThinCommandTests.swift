import Foundation
import RedisClient
import RedisTestSupport
import Testing

/// What the commands that now call the library (ExtractedCall, Diagnostics.probe) or the one exit
/// table (migrate) print and exit with: the same bytes as before the move.
@Suite("tokenledger: record, extract, migrate and doctor over the library")
struct ThinCommandTests {
    @Test("record --response cuts a long response model to 128 bytes at a character boundary and records it")
    func longModel() async throws {
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "thin"]
            let model = "gpt-" + String(repeating: "模", count: 60)
            let result = try await CLI.run(
                ["record", "mo", "--response", "-", "--call-id", "m1"], environment: env,
                stdin: #"{"model":"\#(model)","usage":{"prompt_tokens":5,"completion_tokens":2}}"#)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.isEmpty, "\(result.stderr)")
            let usage = try jsonObject(try await CLI.run(["usage", "mo", "--format", "json"], environment: env).stdout)
            let models = try #require(usage["models"] as? [String: Any], "\(usage)")
            #expect(Array(models.keys) == ["gpt-" + String(repeating: "模", count: 41)], "\(models.keys)")
        }
    }

    @Test("a response with only a total: exit 65 and the same sentence from extract and record --response")
    func onlyTotal() async throws {
        let sentence =
            "tokenledger: the response reports only a total of 50 tokens, without the input/output split; "
            + "give the counts with record --input N --output N\n"
        let extract = try await CLI.run(["extract"], stdin: #"{"tokens_used":50}"#)
        #expect(extract.status == 65 && extract.stdout.isEmpty)
        #expect(extract.stderr == sentence)
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "thin"]
            let record = try await CLI.run(
                ["record", "tot", "--response", "-", "--call-id", "t1"], environment: env, stdin: #"{"tokens_used":50}"#
            )
            #expect(record.status == 65 && record.stdout.isEmpty)
            #expect(record.stderr == sentence)
            let keys = try await Program.run("redis-cli", ["-p", "\(server.port)", "--raw", "KEYS", "thin:*"])
            #expect(keys.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(keys.stdout)")
        }
    }

    @Test("migrate on a newer or a corrupt schema version exits 65 with the library's sentence, writing nothing")
    func migrateSchema() async throws {
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "thin"]
            for (stored, sentence) in [
                (
                    "99",
                    "tokenledger: namespace 'thin' has schema version 99, newer than this build's 2; upgrade tokenledger before migrating\n"
                ),
                ("v2", "tokenledger: thin:{global}:schema is 'v2', not a schema version number\n"),
            ] {
                let set = try await Program.run(
                    "redis-cli", ["-p", "\(server.port)", "SET", "thin:{global}:schema", stored])
                #expect(set.status == 0, "\(set.stderr)")
                let result = try await CLI.run(["migrate", "--format", "json"], environment: env)
                #expect(result.status == 65, "\(stored): \(result.stderr)")
                #expect(result.stderr == sentence)
                #expect(result.stdout.isEmpty)
                let keys = try await Program.run("redis-cli", ["-p", "\(server.port)", "--raw", "KEYS", "thin:*"])
                #expect(keys.stdout == "thin:{global}:schema\n", "\(keys.stdout)")
            }
        }
    }

    @Test("doctor without the password a server requires: exit 77 naming the server, without the ACL hint")
    func doctorNoPassword() async throws {
        var options = RedisTestServer.Options()
        options.requirePassword = "thin-secret"
        try await withRedisServer(options) { server async throws in
            let result = try await CLI.run(["doctor", "--redis", "redis://127.0.0.1:\(server.port)"])
            #expect(result.status == 77, "\(result.stderr)")
            #expect(result.stdout.isEmpty)
            #expect(
                result.stderr.hasPrefix("tokenledger: Redis at 127.0.0.1:\(server.port) refused this user: "),
                "\(result.stderr)")
            #expect(
                result.stderr.contains("NOAUTH") && !result.stderr.contains("docs/operations.md"), "\(result.stderr)")
        }
    }
}

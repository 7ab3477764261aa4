import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

/// Runs `body` with a private server and the environment pointing the CLI at it (namespace `cli`).
private func withKeyServer(_ body: (RedisTestServer, [String: String]) async throws -> Void) async throws {
    try await withRedisServer { server async throws in
        try await body(server, ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "cli"])
    }
}

/// What the library's store says of a secret in the server's `cli` namespace (what the service asks).
private func authenticate(_ secret: String, on server: RedisTestServer) async throws -> APIKey? {
    let pool = RedisConnectionPool(configuration: server.configuration)
    let key = try await APIKeyStore(pool: pool, namespace: "cli").authenticate(secret: secret)
    await pool.close()
    return key
}

@Suite("CLI: key create, key list, key revoke")
struct KeyCommandTests {
    @Test(
        "key create --format json prints {name,role,secret} once on one line; the secret authenticates with that role")
    func createJSON() async throws {
        try await withKeyServer { server, env async throws in
            let result = try await CLI.run(
                ["key", "create", "billing", "--role", "app", "--format", "json"], environment: env)
            #expect(result.status == 0, "\(result.stderr)")
            let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == 2 && lines[1].isEmpty, "\(result.stdout)")
            let object = try jsonObject(result.stdout)
            #expect(object.keys.sorted() == ["name", "role", "secret"])
            #expect(object["name"] as? String == "billing" && object["role"] as? String == "app")
            let secret = try #require(object["secret"] as? String)
            #expect(result.stdout == #"{"name":"billing","role":"app","secret":"\#(secret)"}"# + "\n")
            #expect(secret.hasPrefix("tl_") && secret.utf8.count == 63)
            #expect(result.stderr.contains("will not be shown again") && !result.stderr.contains(secret))
            let key = try #require(try await authenticate(secret, on: server))
            #expect(key.name == "billing" && key.role == .app)
            #expect(try ISO8601Instant.parse(key.createdAt, field: "created_at") <= Date())
        }
    }

    @Test("key create prints a table by default: the secret on stdout, the once-only note on stderr")
    func createTable() async throws {
        try await withKeyServer { server, env async throws in
            let result = try await CLI.run(["key", "create", "ops", "--role", "admin"], environment: env)
            #expect(result.status == 0, "\(result.stderr)")
            let rows = result.stdout.split(separator: "\n").map {
                $0.split(separator: " ", omittingEmptySubsequences: true)
            }
            #expect(rows.map { $0.first.map(String.init) ?? "" } == ["name", "role", "secret"], "\(result.stdout)")
            let secret = try #require(rows.last?.last.map(String.init))
            #expect(rows[0].last == "ops" && rows[1].last == "admin")
            #expect(result.stderr.contains("'ops'") && result.stderr.contains("not be shown again"))
            #expect(try await authenticate(secret, on: server)?.role == .admin)
        }
    }

    @Test("key list: {\"keys\":[{created_at,name,role}…]} sorted by name in json, csv and table; never a secret")
    func list() async throws {
        try await withKeyServer { _, env async throws in
            let empty = try await CLI.run(["key", "list", "--format", "json"], environment: env)
            #expect(empty.status == 0 && empty.stdout == #"{"keys":[]}"# + "\n", "\(empty.stdout)\(empty.stderr)")
            var secrets: [String] = []
            for (name, role) in [("zeta", "read"), ("alpha", "admin"), ("mid", "app")] {
                let created = try await CLI.run(
                    ["key", "create", name, "--role", role, "--format", "json"], environment: env)
                #expect(created.status == 0, "\(created.stderr)")
                secrets.append(try #require(try jsonObject(created.stdout)["secret"] as? String))
            }
            let json = try await CLI.run(["key", "list", "--format", "json"], environment: env)
            #expect(json.status == 0, "\(json.stderr)")
            let keys = try #require(try jsonObject(json.stdout)["keys"] as? [[String: Any]])
            #expect(keys.map { $0["name"] as? String } == ["alpha", "mid", "zeta"])
            #expect(keys.map { $0["role"] as? String } == ["admin", "app", "read"])
            #expect(keys.allSatisfy { $0.keys.sorted() == ["created_at", "name", "role"] })
            #expect(keys.allSatisfy { (try? ISO8601Instant.parse($0["created_at"] as? String ?? "")) != nil })

            let csv = try await CLI.run(["key", "list", "--format", "csv"], environment: env)
            let csvLines = csv.stdout.split(separator: "\n")
            #expect(csvLines.first == "name,role,created_at" && csvLines.count == 4, "\(csv.stdout)")
            #expect(csvLines[1].hasPrefix("alpha,admin,20"))
            let table = try await CLI.run(["key", "list"], environment: env)
            #expect(
                table.stdout.split(separator: "\n").map { $0.prefix(while: { $0 != " " }) } == [
                    "name", "alpha", "mid", "zeta",
                ])
            for output in [json.stdout, csv.stdout, table.stdout] {
                for secret in secrets { #expect(!output.contains(String(secret.dropFirst(20)))) }
                #expect(!output.contains("sha256") && !output.contains("tl_"))
            }
        }
    }

    @Test("key create --default-user: shown once created and in the list; refused for a read key, exit 65 naming it")
    func defaultUser() async throws {
        try await withKeyServer { _, env async throws in
            let created = try await CLI.run(
                ["key", "create", "desk", "--role", "app", "--default-user", "front-desk", "--format", "json"],
                environment: env)
            #expect(created.status == 0, "\(created.stderr)")
            #expect(try jsonObject(created.stdout)["default_user"] as? String == "front-desk", "\(created.stdout)")
            _ = try await CLI.run(["key", "create", "plain", "--role", "app"], environment: env)
            let keys = try #require(
                try jsonObject(try await CLI.run(["key", "list", "--format", "json"], environment: env).stdout)["keys"]
                    as? [[String: Any]])
            #expect(keys.map { $0["default_user"] as? String } == ["front-desk", nil])
            let csv = try await CLI.run(["key", "list", "--format", "csv"], environment: env)
            #expect(csv.stdout.split(separator: "\n").first == "name,role,created_at,default_user", "\(csv.stdout)")
            let refused = try await CLI.run(
                ["key", "create", "r", "--role", "read", "--default-user", "x"], environment: env)
            #expect(refused.status == 65 && refused.stderr.contains("default_user"), "\(refused.stderr)")
        }
    }

    @Test(
        "key revoke: exit 0 and {name,revoked}; the secret stops working at once; an unknown name is exit 65 naming it")
    func revoke() async throws {
        try await withKeyServer { server, env async throws in
            let created = try await CLI.run(
                ["key", "create", "old", "--role", "app", "--format", "json"], environment: env)
            let secret = try #require(try jsonObject(created.stdout)["secret"] as? String)
            #expect(try await authenticate(secret, on: server)?.name == "old")

            let revoked = try await CLI.run(["key", "revoke", "old", "--format", "json"], environment: env)
            #expect(revoked.status == 0, "\(revoked.stderr)")
            #expect(revoked.stdout == #"{"name":"old","revoked":true}"# + "\n")
            #expect(try await authenticate(secret, on: server) == nil)
            #expect(
                try await CLI.run(["key", "list", "--format", "json"], environment: env).stdout == #"{"keys":[]}"#
                    + "\n")

            for name in ["old", "never-made"] {
                let unknown = try await CLI.run(["key", "revoke", name], environment: env)
                #expect(unknown.status == 65, "\(unknown.stderr)")
                #expect(
                    unknown.stderr.contains("\"\(name)\"") && unknown.stderr.contains("no API key"), "\(unknown.stderr)"
                )
                #expect(unknown.stdout.isEmpty)
            }
        }
    }

    @Test(
        "a bad or missing role is a usage error (64); a bad or taken name is bad data (65) naming it; nothing written")
    func badInput() async throws {
        try await withKeyServer { server, env async throws in
            for arguments in [
                ["key", "create", "svc", "--role", "owner"], ["key", "create", "svc"],
                ["key", "create", "--role", "app"], ["key", "revoke"],
            ] {
                let refused = try await CLI.run(arguments, environment: env)
                #expect(refused.status == 64, "\(arguments): \(refused.stderr)")
            }
            let badRole = try await CLI.run(["key", "create", "svc", "--role", "owner"], environment: env)
            #expect(badRole.stderr.contains("owner") && badRole.stderr.contains("app"), "\(badRole.stderr)")

            for name in ["has space", "a:b", String(repeating: "n", count: 65), "ünï"] {
                let refused = try await CLI.run(["key", "create", name, "--role", "app"], environment: env)
                #expect(refused.status == 65, "\(name): \(refused.stderr)")
                #expect(refused.stderr.contains("name "), "\(refused.stderr)")
                #expect(refused.stdout.isEmpty)
            }
            let empty = try await CLI.run(["key", "create", "", "--role", "app"], environment: env)
            #expect(empty.status == 65 && empty.stderr.contains("name is empty"), "\(empty.stderr)")

            let first = try await CLI.run(
                ["key", "create", "svc", "--role", "read", "--format", "json"], environment: env)
            let secret = try #require(try jsonObject(first.stdout)["secret"] as? String)
            let again = try await CLI.run(["key", "create", "svc", "--role", "admin"], environment: env)
            #expect(again.status == 65, "\(again.stderr)")
            #expect(again.stderr.contains("\"svc\"") && again.stderr.contains("already exists"), "\(again.stderr)")
            #expect(!again.stdout.contains("tl_"))
            #expect(try await authenticate(secret, on: server)?.role == .read)
            let keys = try #require(
                try jsonObject(try await CLI.run(["key", "list", "--format", "json"], environment: env).stdout)["keys"]
                    as? [[String: Any]])
            #expect(keys.count == 1)
        }
    }

    @Test("Redis down: key commands exit 69 with a sentence")
    func unavailable() async throws {
        let env = ["REDIS_URL": "redis://127.0.0.1:1", "TOKENLEDGER_NAMESPACE": "cli"]
        for arguments in [["key", "create", "svc", "--role", "app"], ["key", "list"], ["key", "revoke", "svc"]] {
            let result = try await CLI.run(arguments, environment: env)
            #expect(result.status == 69, "\(arguments): \(result.stderr)")
            #expect(!result.stderr.isEmpty && result.stdout.isEmpty)
        }
    }
}

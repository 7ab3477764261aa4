import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

/// Runs `body` with a private server and the environment pointing the CLI at it (namespace `cli`).
private func withPriceServer(_ body: (RedisTestServer, [String: String]) async throws -> Void) async throws {
    try await withRedisServer { server async throws in
        try await body(server, ["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "cli"])
    }
}

/// The overrides stored in the server's `cli` namespace, read with the library (what the CLI wrote).
private func storedOverrides(_ server: RedisTestServer) async throws -> [String: String] {
    let pool = RedisConnectionPool(configuration: server.configuration)
    let stored = try await pool.send(HGETALL("cli:{global}:prices"))
    await pool.close()
    return stored
}

/// The LiteLLM excerpt the library's tests read (Tests/TokenLedgerTests/Fixtures/litellm/).
private let liteLLMExcerpt = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("TokenLedgerTests/Fixtures/litellm/model_prices_and_context_window.json").path

@Suite("CLI: price set, get, list, delete, import")
struct PriceCommandTests {
    @Test("price set then get: the override in effect, every rate exact, on one JSON line")
    func setAndGet() async throws {
        try await withPriceServer { _, env async throws in
            let set = try await CLI.run(
                [
                    "price", "set", "my-model", "--input", "3", "--output", "15", "--cached-input", "0.3",
                    "--tier", "200000:6:22.5:0.6", "--format", "json",
                ], environment: env)
            #expect(set.status == 0, "\(set.stderr)")
            let get = try await CLI.run(["price", "get", "my-model", "--format", "json"], environment: env)
            #expect(get.status == 0, "\(get.stderr)")
            #expect(get.stdout == set.stdout)
            let object = try jsonObject(get.stdout)
            let updatedAt = try #require(object["updated_at"] as? String)
            #expect(
                get.stdout
                    == #"{"as_of":null,"cache_write":"3","cache_write_1h":"3","cached_input":"0.3","entry":"my-model","input":"3","match":"exact","model":"my-model","origin":"override","output":"15","provider":null,"source":null,"tiers":[{"above":200000,"cache_write":"6","cache_write_1h":"6","cached_input":"0.6","input":"6","output":"22.5"}],"updated_at":"\#(updatedAt)"}"#
                    + "\n")
            #expect(try ISO8601Instant.parse(updatedAt, field: "updated_at") <= Date())
        }
    }

    @Test("price get names the entry an alias matched and where its price comes from")
    func getAlias() async throws {
        try await withPriceServer { _, env async throws in
            let result = try await CLI.run(
                ["price", "get", "openai/gpt-4o-2024-08-06", "--format", "json"], environment: env)
            #expect(result.status == 0, "\(result.stderr)")
            let object = try jsonObject(result.stdout)
            #expect(object["entry"] as? String == "gpt-4o" && object["origin"] as? String == "default")
            #expect(object["match"] as? String == "route_prefix+snapshot_suffix")
            #expect(
                object["as_of"] as? String == "2025-11-25"
                    && object["source"] as? String == "https://openai.com/api/pricing/")
            #expect(object["input"] as? String == "2.5" && object["cached_input"] as? String == "1.25")
            let table = try await CLI.run(["price", "get", "claude-sonnet-4-5-20250929"], environment: env)
            #expect(
                table.status == 0 && table.stdout.contains("cache_write_1h") && table.stdout.contains("snapshot_suffix")
            )
        }
    }

    @Test("price list merges the defaults with the overrides, marked, in json, table and csv")
    func list() async throws {
        try await withPriceServer { _, env async throws in
            for arguments in [
                ["gpt-4o", "--input", "1", "--output", "2"], ["in-house-7b", "--input", "0.2", "--output", "0.4"],
            ] {
                #expect(try await CLI.run(["price", "set"] + arguments, environment: env).status == 0)
            }
            let json = try await CLI.run(["price", "list", "--format", "json"], environment: env)
            #expect(json.status == 0, "\(json.stderr)")
            let object = try jsonObject(json.stdout)
            #expect(object["as_of"] as? String == "2025-11-25")
            let models = try #require(object["models"] as? [[String: Any]])
            let names = models.compactMap { $0["model"] as? String }
            let defaultCount = try PriceFile.bundled().prices.count
            #expect(names == names.sorted() && names.count == defaultCount + 1)
            let gpt = try #require(models.first { $0["model"] as? String == "gpt-4o" })
            #expect(gpt["origin"] as? String == "override" && gpt["replaces_default"] as? Bool == true)
            #expect(gpt["input"] as? String == "1")
            let own = try #require(models.first { $0["model"] as? String == "in-house-7b" })
            #expect(own["origin"] as? String == "override" && own["replaces_default"] as? Bool == false)
            #expect(models.first { $0["model"] as? String == "gpt-4o-mini" }?["origin"] as? String == "default")

            let table = try await CLI.run(["price", "list"], environment: env)
            let lines = table.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.split(separator: " ", omittingEmptySubsequences: true).first == "model")
            #expect(lines.contains { $0.hasPrefix("gpt-4o ") && $0.contains("override*") })
            #expect(lines.contains { $0.hasPrefix("gemini-2.5-pro ") && $0.contains(">200000 2.5/15") })
            #expect(lines.last?.contains("as of 2025-11-25") == true)
            let csv = try await CLI.run(["price", "list", "--format", "csv"], environment: env)
            let rows = csv.stdout.split(separator: "\n").map(String.init)
            #expect(
                rows.first
                    == "model,origin,input,cached_input,cache_write,cache_write_1h,output,tiers,replaces_default,provider,source,updated_at"
            )
            #expect(
                rows.contains {
                    $0.hasPrefix("claude-sonnet-4-5,default,3,0.3,3.75,6,15,200000:6:22.5:0.6:7.5:12,false,anthropic,")
                })
        }
    }

    @Test("price delete removes an override only; deleting what is not there is exit 65 saying why")
    func delete() async throws {
        try await withPriceServer { server, env async throws in
            #expect(
                try await CLI.run(["price", "set", "gpt-4o", "--input", "1", "--output", "2"], environment: env).status
                    == 0)
            let deleted = try await CLI.run(["price", "delete", "gpt-4o", "--format", "json"], environment: env)
            #expect(deleted.status == 0, "\(deleted.stderr)")
            #expect(deleted.stdout == #"{"default_applies":true,"deleted":true,"model":"gpt-4o"}"# + "\n")
            #expect(try await storedOverrides(server).isEmpty)
            let defaultOnly = try await CLI.run(["price", "delete", "gpt-4o"], environment: env)
            #expect(
                defaultOnly.status == 65 && defaultOnly.stderr.contains("default price file"), "\(defaultOnly.stderr)")
            let unknown = try await CLI.run(["price", "delete", "nothing-here"], environment: env)
            #expect(unknown.status == 65 && unknown.stderr.contains("no price override for \"nothing-here\""))
            let get = try await CLI.run(["price", "get", "claude-opus-4-8"], environment: env)
            #expect(get.status == 65 && get.stderr.contains("no price for \"claude-opus-4-8\""), "\(get.stderr)")
        }
    }

    @Test(
        "bad rates, tiers and names are refused naming the option (65), missing options are usage errors (64); nothing is stored"
    )
    func badInput() async throws {
        try await withPriceServer { server, env async throws in
            let cases: [([String], Int32, String)] = [
                (["m", "--input", "-1", "--output", "2"], 65, "--input is \"-1\"; a rate cannot be negative"),
                (["m", "--input", "abc", "--output", "2"], 65, "--input is \"abc\""),
                (["m", "--input", "1", "--output", "2", "--cached-input", "0.0000000001"], 65, "--cached-input"),
                (["m", "--input", "1", "--output", "5000"], 65, "the largest rate is 4000"),
                (
                    ["m", "--input", "1", "--output", "2", "--tier", "200000:x"], 65,
                    "--tier is \"200000:x\"; expected ABOVE:INPUT:OUTPUT"
                ),
                (["m", "--input", "1", "--output", "2", "--tier", "0:1:2"], 65, "ABOVE"),
                (["m", "--input", "1", "--output", "2", "--tier", "100:1:-2"], 65, "--tier output"),
                (["m", "--input", "1", "--output", "2", "--tier", "100:1:2", "--tier", "100:3:4"], 65, "two tiers"),
                (["", "--input", "1", "--output", "2"], 65, "MODEL is empty"),
                (["m", "--input", "1"], 64, "--output"),
            ]
            for (arguments, status, needle) in cases {
                let result = try await CLI.run(["price", "set"] + arguments, environment: env)
                #expect(result.status == status, "\(arguments): \(result.stderr)")
                #expect(result.stderr.contains(needle), "\(arguments): \(result.stderr)")
                #expect(result.stdout.isEmpty)
            }
            #expect(try await storedOverrides(server).isEmpty)
        }
    }

    @Test(
        "price import reads LiteLLM's file: token prices become overrides, the rest is counted; a bad file stores nothing"
    )
    func importFile() async throws {
        try await withPriceServer { server, env async throws in
            let bad = FileManager.default.temporaryDirectory.appendingPathComponent("litellm-\(UUID().uuidString).json")
            defer { try? FileManager.default.removeItem(at: bad) }
            try Data(#"{"gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": "#.utf8).write(to: bad)
            let refused = try await CLI.run(["price", "import", bad.path], environment: env)
            #expect(refused.status == 65 && refused.stderr.contains("is not JSON"), "\(refused.stderr)")
            let missing = try await CLI.run(["price", "import", bad.path + ".missing"], environment: env)
            #expect(missing.status == 65 && missing.stderr.contains("cannot read"), "\(missing.stderr)")
            #expect(try await storedOverrides(server).isEmpty)

            let result = try await CLI.run(["price", "import", liteLLMExcerpt, "--format", "json"], environment: env)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(
                result.stdout
                    == #"{"file":"\#(liteLLMExcerpt)","imported":8,"new":8,"skipped_invalid":0,"skipped_without_token_prices":4}"#
                    + "\n")
            #expect(try await storedOverrides(server).count == 8)
            let get = try jsonObject(
                try await CLI.run(["price", "get", "claude-sonnet-4-5", "--format", "json"], environment: env).stdout)
            #expect(get["origin"] as? String == "override" && get["source"] as? String == "litellm")
            #expect(get["cache_write_1h"] as? String == "6" && get["cache_write"] as? String == "3.75")
            // stdin works too, and names the entries it refuses on stderr.
            let piped = try await CLI.run(
                ["price", "import", "-", "--format", "json"], environment: env,
                stdin:
                    #"{"neg": {"input_cost_per_token": -1e-06, "output_cost_per_token": 0}, "ok": {"input_cost_per_token": 1e-06, "output_cost_per_token": 0}}"#
            )
            #expect(piped.status == 0, "\(piped.stderr)")
            #expect(try jsonObject(piped.stdout)["skipped_invalid"] as? Int == 1)
            #expect(piped.stderr.contains("skipped \"neg\": input_cost_per_token"), "\(piped.stderr)")
        }
    }
}

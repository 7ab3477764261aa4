import Foundation
import RedisTestSupport
import Testing

/// Runs `body` with a private server and the environment pointing the CLI at it (namespace `cli`).
private func withCurrencyServer(_ body: ([String: String]) async throws -> Void) async throws {
    try await withRedisServer { server async throws in
        try await body(["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "cli"])
    }
}

@Suite("CLI: currency limits and priced reservations")
struct CurrencyLimitCommandTests {
    @Test(
        "price set, limit set bob --usd 1: priced reservations are admitted until the dollar runs out, then denied naming usd"
    )
    func acceptance() async throws {
        try await withCurrencyServer { env in
            let price = try await CLI.run(
                ["price", "set", "my-model", "--input", "3", "--output", "15"], environment: env)
            #expect(price.status == 0, "\(price.stderr)")
            let set = try await CLI.run(["limit", "set", "bob", "--usd", "1", "--format", "json"], environment: env)
            #expect(set.status == 0, "\(set.stderr)")
            let shown = try jsonObject(set.stdout)
            #expect(shown["limit_usd"] as? String == "1.000000000" && shown["usd_source"] as? String == "user")

            // Each: 10,000 input tokens × $3 + 10,000 output tokens × $15 per million = $0.18.
            func reserve(_ id: String) async throws -> CLIResult {
                try await CLI.run(
                    [
                        "quota", "reserve", "bob", "--call-id", id, "--model", "my-model", "--tokens", "10000",
                        "--max-output-tokens", "10000", "--format", "json",
                    ], environment: env)
            }
            for index in 0..<5 {
                let admitted = try await reserve("c\(index)")
                #expect(admitted.status == 0, "\(admitted.stderr)")
                let object = try jsonObject(admitted.stdout)
                #expect(object["status"] as? String == "admitted")
                #expect(object["requested_usd"] as? String == "0.180000000")
                #expect(object["requested"] as? Int == 20000)
                #expect(object["reserved_usd"] as? String == Self.usd(18 * (index + 1)))
            }
            let denied = try await reserve("c5")
            #expect(denied.status == 1)
            let decision = try jsonObject(denied.stdout)
            #expect(decision["status"] as? String == "denied" && decision["denied_by"] as? String == "usd")
            #expect(decision["remaining_usd"] as? String == "0.100000000")
            #expect(denied.stderr.contains("currency limit"), "\(denied.stderr)")

            // The check says the same, read-only; a release makes room for one more.
            let check = try await CLI.run(
                ["quota", "check", "bob", "--model", "my-model", "--tokens", "10000", "--max-output-tokens", "10000"],
                environment: env)
            #expect(check.status == 1 && check.stderr.contains("currency limit"))
            let release = try await CLI.run(["quota", "release", "bob", "--call-id", "c0"], environment: env)
            #expect(try jsonObject(release.stdout)["released_usd"] as? String == "0.180000000")
            #expect(try await reserve("c5").status == 0)

            // usage shows the currency side.
            let usage = try jsonObject(
                try await CLI.run(["usage", "bob", "--format", "json"], environment: env).stdout)
            #expect(usage["limit_usd"] as? String == "1.000000000")
            #expect(usage["reserved_usd"] as? String == "0.900000000")
            #expect(usage["remaining_usd"] as? String == "0.100000000")

            // --usd reserves an amount directly; a model without a price is reserved by tokens only.
            let direct = try await CLI.run(
                ["quota", "reserve", "bob", "--call-id", "d", "--tokens", "1", "--usd", "0.1"], environment: env)
            #expect(direct.status == 0, "\(direct.stderr)")
            let unpriced = try await CLI.run(
                ["quota", "reserve", "bob", "--call-id", "u", "--model", "unpriced-xyz", "--tokens", "5"],
                environment: env)
            #expect(unpriced.status == 0 && unpriced.stderr.contains("has no price"), "\(unpriced.stderr)")
            let onePast = try await CLI.run(
                ["quota", "reserve", "bob", "--call-id", "e", "--tokens", "1", "--usd", "0.000000001"], environment: env
            )
            #expect(onePast.status == 1)
        }
    }

    static func usd(_ cents: Int) -> String { String(format: "%d.%02d0000000", cents / 100, cents % 100) }

    @Test("bad --usd values exit 65 naming --usd and store nothing; clear --usd clears only the currency limit")
    func badInputAndClear() async throws {
        try await withCurrencyServer { env in
            #expect(try await CLI.run(["limit", "set", "bob", "700", "--usd", "2.5"], environment: env).status == 0)
            for bad in ["-1", "0.0000000001", "ten", "9007199.254740992"] {
                let refused = try await CLI.run(["limit", "set", "bob", "5", "--usd", bad], environment: env)
                #expect(refused.status == 65, "\(bad): \(refused.stderr)")
                #expect(refused.stderr.contains("--usd"), "\(bad): \(refused.stderr)")
                let refusedDefault = try await CLI.run(["limit", "set", "--default", "--usd", bad], environment: env)
                #expect(refusedDefault.status == 65, "\(bad): \(refusedDefault.stderr)")
            }
            var got = try jsonObject(
                try await CLI.run(["limit", "get", "bob", "--format", "json"], environment: env).stdout)
            #expect(got["limit"] as? Int == 700 && got["limit_usd"] as? String == "2.500000000")

            #expect(try await CLI.run(["limit", "set", "--default", "--usd", "10"], environment: env).status == 0)
            #expect(try await CLI.run(["limit", "clear", "bob", "--usd"], environment: env).status == 0)
            got = try jsonObject(
                try await CLI.run(["limit", "get", "bob", "--format", "json"], environment: env).stdout)
            #expect(got["limit"] as? Int == 700)
            #expect(got["limit_usd"] as? String == "10.000000000" && got["usd_source"] as? String == "default")
            #expect(try await CLI.run(["limit", "clear", "bob"], environment: env).status == 0)
            got = try jsonObject(
                try await CLI.run(["limit", "get", "bob", "--format", "json"], environment: env).stdout)
            #expect(got["source"] as? String == "none" && got["usd_source"] as? String == "default")
            #expect(try await CLI.run(["limit", "clear", "--default", "--usd"], environment: env).status == 0)
            got = try jsonObject(
                try await CLI.run(["limit", "get", "bob", "--format", "json"], environment: env).stdout)
            #expect(got["limit_usd"] is NSNull && got["usd_source"] as? String == "none")
        }
    }
}

import Foundation
import RedisClient
import RedisTestSupport
import Testing

@testable import TokenLedger

/// Runs `body` with a price store on its own namespace (and its pool), against REDIS_URL or a private server.
private func withPriceStore(_ body: (PriceStore) async throws -> Void) async throws {
    try await withRedis { configuration async throws in
        let pool = RedisConnectionPool(configuration: configuration)
        do {
            try await body(try PriceStore(pool: pool, namespace: uniqueNamespace("prices")))
            await pool.close()
        } catch {
            await pool.close()
            throw error
        }
    }
}

private func usd(_ text: String) throws -> PriceRate { try PriceRate(usdPerMillionTokens: text, field: "rate") }

@Suite("Prices: overrides in Redis")
struct PriceStoreTests {
    @Test("set, get, list and delete an override; the default applies again after the delete")
    func overrideLifecycle() async throws {
        try await withPriceStore { store in
            #expect(try await store.overrides().isEmpty)
            let price = try ModelPrice(
                input: try usd("3"), output: try usd("15"), cachedInput: try usd("0.3"),
                tiers: [try ModelPrice.Tier(parsing: "2000000:6:22.5")])
            let stored = try await store.set(model: "my-model", price: price, at: instant("2026-03-08T07:30:00Z"))
            #expect(stored.updatedAt == "2026-03-08T07:30:00Z")
            #expect(try await store.override(model: "my-model") == stored)
            // The acceptance case priced through the table read back from Redis.
            let record = UsageRecord(inputTokens: 1_000_000, outputTokens: 100_000, cachedInputTokens: 200_000)
            #expect(try await store.table().cost(of: record, model: "my-model")?.cost.description == "3.960000000")

            // Overriding a default entry hides it; deleting the override brings it back.
            try await store.set(model: "gpt-4o", price: try ModelPrice(input: try usd("1"), output: try usd("2")))
            var table = try await store.table()
            #expect(table.lookup("gpt-4o-2024-08-06")?.entry.origin == .override)
            #expect(table.entries.filter { $0.origin == .override }.map(\.model) == ["gpt-4o", "my-model"])
            #expect(try await store.delete(model: "gpt-4o"))
            #expect(try await store.delete(model: "gpt-4o") == false)
            table = try await store.table()
            #expect(table.lookup("gpt-4o")?.entry.origin == .default)
            #expect(table.lookup("gpt-4o")?.entry.price.input.description == "2.5")
            #expect(try await store.overrides().map(\.model) == ["my-model"])

            // One hash in the {global} slot, the value a line of JSON with sorted keys.
            let raw = try await store.pool.send(HGETALL(store.keys.prices))
            #expect(store.keys.prices == store.keys.namespace + ":{global}:prices")
            #expect(
                raw["my-model"]
                    == #"{"cached_input":"0.3","input":"3","output":"15","tiers":[{"above":2000000,"input":"6","output":"22.5"}],"updated_at":"2026-03-08T07:30:00Z"}"#
            )
        }
    }

    @Test("an import is one HSET: every override at once, replacing those of the same models")
    func importAll() async throws {
        try await withPriceStore { store in
            try await store.set(model: "gpt-4o", price: try ModelPrice(input: try usd("9"), output: try usd("9")))
            let url = Bundle.module.bundleURL.appendingPathComponent(
                "Fixtures/litellm/model_prices_and_context_window.json")
            let parsed = try LiteLLMPriceImport(parsing: Array(try Data(contentsOf: url)), name: "excerpt")
            let overrides = try parsed.prices.map {
                try PriceOverride(model: $0.model, price: $0.price, updatedAt: "2026-01-01T00:00:00Z")
            }
            #expect(try await store.importOverrides(overrides) == overrides.count - 1)
            let read = try await store.overrides()
            #expect(read.map(\.model) == parsed.prices.map(\.model))
            #expect(read.first { $0.model == "gpt-4o" }?.price.input.description == "2.5")
            #expect(Dictionary(uniqueKeysWithValues: read.map { ($0.model, $0.price) }) == parsed.pricesByModel)
        }
    }

    @Test("a stored value that is not a valid price is reported naming the key and model, never used")
    func corruptValues() async throws {
        try await withPriceStore { store in
            for bad in ["not json", #"{"input":"-1","output":"2","updated_at":"x"}"#, #"{"input":"1"}"#] {
                _ = try await store.pool.send(HSET(store.keys.prices, fields: [("broken", bad)]))
                await #expect {
                    _ = try await store.table()
                } throws: { error in
                    guard let error = error as? LedgerError else { return false }
                    return error.code == .corruptData && error.message.contains(store.keys.prices)
                        && error.message.contains("\"broken\"")
                }
                await #expect(throws: LedgerError.self) { _ = try await store.override(model: "broken") }
            }
            // Deleting it repairs the table.
            #expect(try await store.delete(model: "broken"))
            #expect(try await store.table().overrides.isEmpty)
        }
    }

    @Test("bad model names are refused before Redis is asked")
    func badNames() async throws {
        try await withPriceStore { store in
            let price = try ModelPrice(input: .zero, output: .zero)
            for name in ["", String(repeating: "m", count: 129), "a\u{0}b"] {
                await #expect(throws: ValidationError.self) { try await store.set(model: name, price: price) }
                await #expect(throws: ValidationError.self) { _ = try await store.delete(model: name) }
            }
            #expect(try await store.overrides().isEmpty)
        }
    }

    @Test("the documented application user reads prices but cannot change them; doctor says so")
    func leastPrivilege() async throws {
        var options = RedisTestServer.Options()
        options.aclUsers = try documentedACLUsers()
        try await withRedisServer(options) { server async throws in
            func pool(_ user: String, _ password: String) -> RedisConnectionPool {
                var configuration = server.configuration
                configuration.username = user
                configuration.password = password
                return RedisConnectionPool(configuration: configuration)
            }
            let adminPool = pool("tokenledger-admin", "admin-secret")
            let appPool = pool("tokenledger-app", "app-secret")
            let admin = try PriceStore(pool: adminPool, namespace: "tl")
            let app = try PriceStore(pool: appPool, namespace: "tl")
            try await admin.set(model: "in-house", price: try ModelPrice(input: try usd("1"), output: try usd("2")))
            #expect(try await app.table().lookup("in-house")?.entry.origin == .override)
            #expect(try await app.override(model: "in-house")?.price.output.description == "2")
            func refused(_ error: any Error) -> Bool { (error as? RedisError)?.isPermissionDenied == true }
            await #expect {
                try await app.set(model: "in-house", price: try ModelPrice(input: .zero, output: .zero))
            } throws: { refused($0) }
            await #expect { _ = try await app.delete(model: "in-house") } throws: { refused($0) }
            #expect(try await admin.override(model: "in-house")?.price.input.description == "1")

            let appRepository = try TokenRepository(
                pool: appPool, configuration: try LedgerConfiguration(namespace: "tl", settingsCacheTTL: .zero))
            let adminRepository = try TokenRepository(
                pool: adminPool, configuration: try LedgerConfiguration(namespace: "tl", settingsCacheTTL: .zero))
            _ = try await Diagnostics.loadScripts(repository: adminRepository)
            let check = try #require(try await Diagnostics.run(repository: appRepository).first { $0.name == "prices" })
            #expect(check.status == .ok && check.detail.contains("as of 2025-11-25"), "\(check)")
            await appPool.close()
            await adminPool.close()
        }
    }

    @Test("an application user without the prices rule gets a doctor warning naming the rule to add")
    func doctorWarns() async throws {
        var options = RedisTestServer.Options()
        options.aclUsers = try documentedACLUsers().map { user in
            (
                name: user.name, password: user.password,
                rules: user.rules.replacingOccurrences(of: " %R~tl:{global}:prices", with: "")
            )
        }
        #expect(!options.aclUsers[0].rules.contains("prices"))
        try await withRedisServer(options) { server async throws in
            var configuration = server.configuration
            configuration.username = "tokenledger-app"
            configuration.password = "app-secret"
            let appPool = RedisConnectionPool(configuration: configuration)
            let repository = try TokenRepository(
                pool: appPool, configuration: try LedgerConfiguration(namespace: "tl", settingsCacheTTL: .zero))
            let check = try #require(try await Diagnostics.run(repository: repository).first { $0.name == "prices" })
            #expect(check.status == .warn && check.detail.contains("%R~tl:{global}:prices"), "\(check)")
            await appPool.close()
        }
    }
}

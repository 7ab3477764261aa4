import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

@testable import TokenLedgerService

@Suite("Service health")
struct HealthTests {
    @Test("/healthz answers ok without a key on a real port; an unknown route is a 404 problem")
    func healthz() async throws {
        try await withService { service in
            #expect(service.port > 0)
            let health = try await service.send(.get, "/healthz", key: .some(nil))
            #expect(health.status == 200)
            #expect(health.text == #"{"status":"ok"}"# + "\n")
            let missing = try await service.send(.get, "/nope", key: .some(nil))
            #expect(missing.status == 404)
            #expect(missing.header(.contentType) == "application/problem+json")
            #expect(missing.json["code"] as? String == "not_found")
            #expect(missing.json["status"] as? Int == 404)
        }
    }

    @Test("/readyz loads the Lua scripts after SCRIPT FLUSH; a user that may not load them gets 503 naming them")
    func readinessLoadsScripts() async throws {
        try await withService { service in
            let pool = service.repository.pool
            let digests = Array(service.repository.scriptDigests.values)
            func loaded() async throws -> Int { try await pool.send(SCRIPT.EXISTS(digests)).values.filter { $0 }.count }
            #expect(try await service.send(.get, "/readyz", key: .some(nil)).status == 200)
            _ = try await pool.send(RedisCommand("SCRIPT", "FLUSH"))
            #expect(try await loaded() == 0)
            let ready = try await service.send(.get, "/readyz", key: .some(nil))
            #expect(ready.status == 200, "\(ready.text)")
            #expect(try await loaded() == digests.count, "readiness loaded every script again")

            // The service's Redis user loses SCRIPT LOAD (as the least-privilege application user).
            _ = try await pool.send(RedisCommand("ACL", "SETUSER", "default", "-script|load"))
            _ = try await pool.send(RedisCommand("SCRIPT", "FLUSH"))
            let refused = try await service.send(.get, "/readyz", key: .some(nil))
            #expect(refused.status == 503, "\(refused.text)")
            #expect(refused.json["status"] as? String == "unavailable")
            let reason = refused.json["reason"] as? String ?? ""
            #expect(reason.contains("\(digests.count) of \(digests.count) Lua scripts are not loaded"), "\(reason)")
            #expect(reason.contains("may not load them") && reason.contains("tokenledger migrate"), "\(reason)")
            _ = try await pool.send(RedisCommand("ACL", "SETUSER", "default", "+script|load"))
            #expect(try await service.send(.get, "/readyz", key: .some(nil)).status == 200)
            #expect(try await loaded() == digests.count)
        }
    }
}

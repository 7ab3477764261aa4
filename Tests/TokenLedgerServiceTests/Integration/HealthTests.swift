import Foundation
import RedisTestSupport
import Testing

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
}

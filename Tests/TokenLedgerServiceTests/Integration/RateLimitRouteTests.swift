import Foundation
import HTTPTypes
import RedisTestSupport
import Testing
import TokenLedger

@testable import TokenLedgerService

@Suite("Service: rate limits")
struct RateLimitRouteTests {
    @Test(
        "PUT/GET/DELETE /v1/scopes/{scope}/rate; a reservation past the tpm limit is 429 with Retry-After (seconds, rounded up) and the decision"
    )
    func rateRoutes() async throws {
        try await withService { service in
            let set = try await service.send(.put, "/v1/scopes/team%3Ard/rate", body: json(["tpm": 1000, "rpm": 50]))
            #expect(set.status == 200, "\(set.text)")
            #expect(
                set.text
                    == #"{"default_rpm":null,"default_tpm":null,"effective_rpm":50,"effective_tpm":1000,"rpm":50,"scope":"team:rd","tpm":1000}"#
                    + "\n")
            #expect(try await service.send(.get, "/v1/scopes/team:rd/rate").text == set.text)
            let bad = try await service.send(.put, "/v1/scopes/carol/rate", body: json(["tpm": 0]))
            #expect(bad.status == 400 && bad.json["field"] as? String == "tpm", "\(bad.text)")
            let empty = try await service.send(.put, "/v1/scopes/carol/rate", body: json([:]))
            #expect(empty.status == 400, "\(empty.text)")
            let forbidden = try await service.send(
                .put, "/v1/scopes/carol/rate", key: service.appKey, body: json(["tpm": 5]))
            #expect(forbidden.status == 403)

            #expect(try await service.send(.put, "/v1/scopes/carol/rate", body: json(["tpm": 100])).status == 200)
            let admitted = try await service.send(
                .post, "/v1/reservations", key: service.appKey,
                body: json(["user": "carol", "call_id": "a", "tokens": 90]))
            #expect(admitted.status == 201, "\(admitted.text)")
            #expect(admitted.json["window_tokens"] as? Int == 90 && admitted.json["tpm"] as? Int == 100)
            let denied = try await service.send(
                .post, "/v1/reservations", key: service.appKey,
                body: json(["user": "carol", "call_id": "b", "tokens": 20]))
            #expect(denied.status == 429, "\(denied.text)")
            let decision = denied.json["decision"] as? [String: Any] ?? [:]
            #expect(decision["denied_by"] as? String == "tpm" && decision["denied_scope"] as? String == "user:carol")
            let retryMs = try #require(decision["retry_after_ms"] as? Int)
            let retryAfter = try #require(denied.header(.retryAfter).flatMap { Int($0) })
            #expect(retryAfter == (retryMs + 999) / 1000 && retryAfter >= 1 && retryAfter <= 60)
            #expect((denied.json["detail"] as? String ?? "").contains("rate limit (tpm)"))

            let cleared = try await service.send(.delete, "/v1/scopes/carol/rate")
            #expect(cleared.status == 200 && cleared.json["tpm"] is NSNull)
            let now = try await service.send(
                .post, "/v1/reservations", key: service.appKey,
                body: json(["user": "carol", "call_id": "b", "tokens": 20]))
            #expect(now.status == 201, "\(now.text)")
        }
    }

    @Test("the proxy's 429 for a rate denial has Retry-After and x-should-retry true; the provider is not called")
    func proxyRateDenial() async throws {
        try await withProxy { harness in
            try await harness.service.repository.setRateLimit(scope: .user("rate-user"), tpm: nil, rpm: 1)
            let first = try await ProxyTests.post(harness, body: ProxyTests.chat(user: "rate-user"))
            #expect(first.status == 200, "\(first.text)")
            let before = harness.fake.received.count
            let denied = try await ProxyTests.post(harness, body: ProxyTests.chat(user: "rate-user"))
            #expect(denied.status == 429, "\(denied.text)")
            #expect(harness.fake.received.count == before)
            let retryAfter = try #require(denied.header(.retryAfter).flatMap { Int($0) })
            #expect(retryAfter >= 1 && retryAfter <= 60)
            #expect(denied.header(HTTPField.Name("x-should-retry")!) == "true")
            let decision = denied.json["tokenledger"] as? [String: Any] ?? [:]
            #expect(decision["denied_by"] as? String == "rpm")
        }
    }
}

import Foundation
import HTTPTypes
import RedisTestSupport
import Testing
import TokenLedger

@testable import TokenLedgerService

@Suite("Service: currency limits and reservations in USD")
struct CurrencyLimitRouteTests {
    @Test(
        "PUT/GET/DELETE /v1/users/{user}/limit with usd; reservations in USD admitted until the limit, then 429 naming usd"
    )
    func limitRoutesWithUSD() async throws {
        try await withService { service in
            let set = try await service.send(.put, "/v1/users/bob/limit", body: json(["tokens": 1000, "usd": "1"]))
            #expect(set.status == 200, "\(set.text)")
            #expect(
                set.text
                    == #"{"limit":1000,"limit_usd":"1.000000000","source":"user","usd_source":"user","user":"bob"}"#
                    + "\n")
            let got = try await service.send(.get, "/v1/users/bob/limit")
            #expect(got.text == set.text)

            for index in 0..<3 {
                let admitted = try await service.send(
                    .post, "/v1/reservations", key: service.appKey,
                    body: json(["user": "bob", "call_id": "r\(index)", "tokens": 10, "usd": "0.3"]))
                #expect(admitted.status == 201, "\(admitted.text)")
                #expect(admitted.json["requested_usd"] as? String == "0.300000000")
            }
            let denied = try await service.send(
                .post, "/v1/reservations", key: service.appKey,
                body: json(["user": "bob", "call_id": "r3", "tokens": 10, "usd": "0.2"]))
            #expect(denied.status == 429)
            let decision = denied.json["decision"] as? [String: Any] ?? [:]
            #expect(decision["denied_by"] as? String == "usd" && decision["remaining_usd"] as? String == "0.100000000")
            #expect((denied.json["detail"] as? String ?? "").contains("currency limit"))
            let check = try await service.send(
                .post, "/v1/quota/check", key: service.appKey, body: json(["user": "bob", "usd": "0.1"]))
            #expect(check.status == 200 && check.json["allowed"] as? Bool == true)
            let released = try await service.send(.delete, "/v1/reservations/r0?user=bob", key: service.appKey)
            #expect(released.json["released_usd"] as? String == "0.300000000")

            // Bad amounts: 400 naming usd, nothing stored (the token limit in the same body neither).
            for bad: Any in ["-1", "0.0000000001", "ten", "9007199.254740992", 0.5, -3, true] {
                let refused = try await service.send(
                    .put, "/v1/users/bob/limit", body: json(["tokens": 5, "usd": bad]))
                #expect(refused.status == 400, "\(bad): \(refused.text)")
                #expect(refused.json["field"] as? String == "usd", "\(bad): \(refused.text)")
            }
            #expect(try await service.send(.get, "/v1/users/bob/limit").text == set.text)

            let onlyUSD = try await service.send(.delete, "/v1/users/bob/limit?only=usd")
            #expect(
                onlyUSD.text
                    == #"{"limit":null,"limit_usd":null,"source":"unchanged","usd_source":"cleared","user":"bob"}"#
                    + "\n")
            let after = try await service.send(.get, "/v1/users/bob/limit")
            #expect(after.json["limit"] as? Int == 1000 && after.json["usd_source"] as? String == "none")
            let badOnly = try await service.send(.delete, "/v1/users/bob/limit?only=both")
            #expect(badOnly.status == 400 && badOnly.json["field"] as? String == "only")
            let neither = try await service.send(.put, "/v1/users/bob/limit", body: "{}")
            #expect(neither.status == 400)
        }
    }
}

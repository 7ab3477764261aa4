import Foundation
import RedisTestSupport
import Testing

@testable import TokenLedgerService

@Suite("Service metrics")
struct MetricsTests {
    @Test(
        "/metrics is Prometheus text with the request counter by route template, the recorder's outcomes and no user id"
    )
    func prometheusText() async throws {
        try await withService { service in
            for index in 0..<3 {
                let answer = try await service.send(
                    .post, "/v1/usage", key: service.appKey,
                    body: json(["user": "secret-user-\(index)", "call_id": "m", "input_tokens": 1, "output_tokens": 1]))
                #expect(answer.status == 200)
            }
            _ = try await service.send(.get, "/v1/users/secret-user-0/usage", key: service.readKey)
            _ = try await service.send(
                .post, "/v1/quota/check", key: service.appKey, body: json(["user": "secret-user-0", "tokens": 1]))
            let answer = try await service.send(.get, "/metrics", key: .some(nil))
            #expect(answer.status == 200)
            #expect(answer.header(.contentType)?.hasPrefix("text/plain") == true)
            let samples = try PrometheusText.parse(answer.text).get()
            let records = samples.first {
                $0.name == "tokenledger_http_requests_total" && $0.labels["route"] == "/v1/usage"
                    && $0.labels["status"] == "200" && $0.labels["method"] == "POST"
            }
            #expect(records?.value == 3)
            #expect(
                samples.contains {
                    $0.name == "tokenledger_http_requests_total" && $0.labels["route"] == "/v1/users/{user}/usage"
                })
            #expect(samples.contains { $0.name == "tokenledger_http_request_seconds_count" })
            let applied = samples.first { $0.name == "tokenledger_records_total" && $0.labels["result"] == "applied" }
            #expect(applied?.value == 3)
            #expect(
                samples.contains {
                    $0.name == "tokenledger_quota_decisions_total" && $0.labels["decision"] == "allowed"
                })
            #expect(samples.contains { $0.name.hasPrefix("tokenledger_redis_round_trip_seconds") })
            #expect(!answer.text.contains("secret-user"))
        }
    }

    @Test("an unknown path is counted under route=\"unmatched\", never under its raw path")
    func unmatchedRoute() async throws {
        try await withService { service in
            let raw = "/v1/no-such-route/secret-user-7"
            #expect(try await service.send(.get, raw, key: .some(nil)).status == 404)
            #expect(try await service.send(.get, raw).status == 404)
            #expect(try await service.send(.delete, "/v2/secret-user-8").status == 404)
            let answer = try await service.send(.get, "/metrics", key: .some(nil))
            let samples = try PrometheusText.parse(answer.text).get()
            let unmatched = samples.filter {
                $0.name == "tokenledger_http_requests_total" && $0.labels["route"] == "unmatched"
            }
            let gets = unmatched.first { $0.labels["method"] == "GET" && $0.labels["status"] == "404" }
            #expect(gets?.value == 2, "\(unmatched)")
            #expect(unmatched.contains { $0.labels["method"] == "DELETE" && $0.labels["status"] == "404" })
            #expect(!answer.text.contains("secret-user") && !answer.text.contains("no-such-route"))
            #expect(
                !samples.contains {
                    $0.name == "tokenledger_http_requests_total" && $0.labels["route"]?.contains("v2") == true
                })
        }
    }
}

import Foundation
import RedisTestSupport
import Testing
import TokenLedger

@testable import TokenLedgerService

/// The sorted keys of a JSON object.
func keys(_ object: [String: Any]) -> [String] { object.keys.sorted() }

@Suite("Service endpoints")
struct EndpointTests {
    @Test("POST /v1/usage records counts once per call id, in the CLI's shape; usage reads it back")
    func recordCounts() async throws {
        try await withService { service in
            let body = json(["user": "alice", "call_id": "c1", "input_tokens": 10, "output_tokens": 5, "model": "m1"])
            let first = try await service.send(.post, "/v1/usage", key: service.appKey, body: body)
            #expect(first.status == 200)
            #expect(first.header(.contentType) == "application/json")
            #expect(keys(first.json) == ["applied", "cost_usd", "cycle", "total_tokens", "user"])
            #expect(first.json["cost_usd"] is NSNull)  // m1 has no price
            #expect(first.json["applied"] as? Bool == true)
            #expect(first.json["total_tokens"] as? Int == 15)
            #expect(first.text.hasPrefix(#"{"applied":true,"cost_usd":null,"cycle":""#))
            let again = try await service.send(.post, "/v1/usage", key: service.appKey, body: body)
            #expect(again.status == 200)
            #expect(again.json["applied"] as? Bool == false)

            let usage = try await service.send(.get, "/v1/users/alice/usage", key: service.readKey)
            #expect(usage.status == 200)
            #expect(
                keys(usage.json) == [
                    "cache_write_tokens", "cached_input_tokens", "calls", "cost_usd", "cycle", "cycle_end",
                    "input_tokens", "limit", "limit_usd", "models", "output_tokens", "reasoning_tokens", "remaining",
                    "remaining_usd", "reported_cost_usd", "reserved", "reserved_usd", "total_tokens", "unpriced_calls",
                    "user",
                ])
            #expect(usage.json["unpriced_calls"] as? Int == 1)
            #expect(usage.json["total_tokens"] as? Int == 15)
            #expect(usage.json["calls"] as? Int == 1)
            let stored = try await service.repository.usage(user: "alice")
            #expect(stored.totalTokens == 15 && stored.calls == 1)
        }
    }

    @Test("POST /v1/usage with a raw provider response (a body, and SSE text) goes through the CLI's extractor")
    func recordResponse() async throws {
        try await withService { service in
            let openAI: [String: Any] = [
                "id": "x", "object": "chat.completion", "model": "gpt-4o",
                "usage": ["prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15],
            ]
            let recorded = try await service.send(
                .post, "/v1/usage", key: service.appKey,
                body: json(["user": "bob", "call_id": "r1", "response": openAI]))
            #expect(recorded.status == 200)
            #expect(recorded.json["total_tokens"] as? Int == 15)
            let sse =
                "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude\",\"usage\":{\"input_tokens\":7,\"output_tokens\":1}}}\n\n"
                + "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":4}}\n\n"
            let streamed = try await service.send(
                .post, "/v1/usage", key: service.appKey, body: json(["user": "bob", "call_id": "r2", "response": sse]))
            #expect(streamed.status == 200)
            #expect(streamed.json["total_tokens"] as? Int == 26)  // the user's cycle total
            let usage = try await service.repository.usage(user: "bob")
            #expect(usage.totalTokens == 26)
            #expect(usage.models.keys.sorted() == ["claude", "gpt-4o"])

            let extracted = try await service.send(
                .post, "/v1/extract", key: service.appKey, body: json(["response": openAI]))
            #expect(extracted.status == 200)
            #expect(
                keys(extracted.json) == [
                    "cache_write_tokens", "cached_input_tokens", "input_tokens", "output_tokens", "reasoning_tokens",
                    "source", "total_tokens",
                ])
            #expect(extracted.json["input_tokens"] as? Int == 12)
            #expect((try await service.repository.usage(user: "bob")).totalTokens == 26)
        }
    }

    @Test(
        "check, reserve (201, 200 held), settle, release: the CLI's shapes; a denial is a 429 problem with the decision"
    )
    func quotaFlow() async throws {
        try await withService { service in
            let limit = try await service.send(.put, "/v1/users/carol/limit", body: json(["tokens": 100]))
            #expect(limit.status == 200)
            #expect(limit.text == #"{"limit":100,"source":"user","user":"carol"}"# + "\n")

            let check = try await service.send(
                .post, "/v1/quota/check", key: service.appKey, body: json(["user": "carol", "tokens": 60]))
            #expect(check.status == 200)
            #expect(
                keys(check.json) == [
                    "allowed", "cycle", "denied_by", "denied_scope", "limit", "limit_usd", "remaining", "remaining_usd",
                    "requested",
                    "requested_usd", "reserved", "reserved_usd", "retry_after_ms", "rpm", "tpm", "used", "used_usd",
                    "user",
                    "window_requests", "window_tokens",
                ])
            #expect(check.json["allowed"] as? Bool == true)

            let reserve = json(["user": "carol", "call_id": "k1", "tokens": 60, "ttl_seconds": 60])
            let admitted = try await service.send(.post, "/v1/reservations", key: service.appKey, body: reserve)
            #expect(admitted.status == 201)
            #expect(admitted.json["status"] as? String == "admitted")
            #expect(admitted.json["call_id"] as? String == "k1")
            let held = try await service.send(.post, "/v1/reservations", key: service.appKey, body: reserve)
            #expect(held.status == 200)
            #expect(held.json["status"] as? String == "held")

            let denied = try await service.send(
                .post, "/v1/reservations", key: service.appKey,
                body: json(["user": "carol", "call_id": "k2", "tokens": 50]))
            #expect(denied.status == 429)
            #expect(denied.header(.contentType) == "application/problem+json")
            #expect(denied.json["code"] as? String == "quota_denied")
            let decision = denied.json["decision"] as? [String: Any] ?? [:]
            #expect(decision["allowed"] as? Bool == false)
            #expect(decision["reserved"] as? Int == 60)
            #expect(Int(denied.header(.retryAfter) ?? "") ?? 0 >= 1)

            let settled = try await service.send(
                .post, "/v1/reservations/k1/settle", key: service.appKey,
                body: json(["user": "carol", "input_tokens": 20, "output_tokens": 10]))
            #expect(settled.status == 200)
            #expect(
                keys(settled.json) == [
                    "applied", "call_id", "cost_usd", "cycle", "released_tokens", "total_tokens", "user",
                ])
            #expect(settled.json["released_tokens"] as? Int == 60)

            _ = try await service.send(
                .post, "/v1/reservations", key: service.appKey,
                body: json(["user": "carol", "call_id": "k3", "tokens": 40]))
            let released = try await service.send(.delete, "/v1/reservations/k3?user=carol", key: service.appKey)
            #expect(released.status == 200)
            #expect(
                released.text == #"{"call_id":"k3","released_tokens":40,"released_usd":"0.000000000","user":"carol"}"#
                    + "\n")

            let usage = try await service.repository.usage(user: "carol")
            #expect(usage.totalTokens == 30 && usage.reserved == 0)
        }
    }

    @Test("limits (get, clear), cycle policy, report: the CLI's shapes")
    func adminAndReports() async throws {
        try await withService { service in
            _ = try await service.send(
                .post, "/v1/usage", key: service.appKey,
                body: json(["user": "dave", "call_id": "a", "input_tokens": 3, "output_tokens": 4]))
            _ = try await service.send(
                .post, "/v1/usage", key: service.appKey,
                body: json(["user": "erin", "call_id": "a", "input_tokens": 30, "output_tokens": 40]))
            _ = try await service.send(.put, "/v1/users/dave/limit", body: json(["tokens": 500]))
            let got = try await service.send(.get, "/v1/users/dave/limit")
            #expect(
                got.text == #"{"limit":500,"limit_usd":null,"source":"user","usd_source":"none","user":"dave"}"# + "\n")
            let cleared = try await service.send(.delete, "/v1/users/dave/limit")
            #expect(
                cleared.text
                    == #"{"limit":null,"limit_usd":null,"source":"cleared","usd_source":"cleared","user":"dave"}"#
                    + "\n")
            #expect((try await service.repository.limit(user: "dave")).own == nil)

            let policy = try await service.send(
                .put, "/v1/users/dave/cycle-policy",
                body: json(["period": "monthly", "anchor_day": 15, "timezone": "Europe/Berlin"]))
            #expect(policy.status == 200)
            #expect(keys(policy.json) == ["anchor", "cycle", "cycle_end", "period", "source", "timezone", "user"])
            #expect(policy.json["anchor"] as? Int == 15)
            let stored = try await service.repository.cyclePolicy(user: "dave")
            #expect(stored.isOverride && stored.policy.timeZoneIdentifier == "Europe/Berlin")

            let report = try await service.send(.get, "/v1/report?top=1&sort=total", key: service.readKey)
            #expect(report.status == 200)
            #expect(keys(report.json) == ["cycle", "totals", "users"])
            let users = report.json["users"] as? [[String: Any]] ?? []
            #expect(users.map { $0["user"] as? String } == ["erin"])
            let totals = report.json["totals"] as? [String: Any] ?? [:]
            #expect(totals["users"] as? Int == 2)
        }
    }

    @Test("user ids in paths are percent-decoded; readiness is ok, the first write having recorded the schema version")
    func percentDecodedUser() async throws {
        try await withService { service in
            _ = try await service.send(
                .post, "/v1/usage", key: service.appKey,
                body: json(["user": "a/b é", "call_id": "p", "input_tokens": 1, "output_tokens": 1]))
            let usage = try await service.send(.get, "/v1/users/a%2Fb%20%C3%A9/usage", key: service.readKey)
            #expect(usage.status == 200)
            #expect(usage.json["user"] as? String == "a/b é")
            #expect(usage.json["total_tokens"] as? Int == 2)
            let ready = try await service.send(.get, "/readyz", key: .some(nil))
            #expect(ready.status == 200)
            // The namespace was new; its first write recorded this build's version.
            #expect(ready.json["schema"] as? String == "current")
        }
    }
}

import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

@testable import TokenLedgerService

@Suite("Service with Redis down")
struct AvailabilityTests {
    @Test("with a spool: records answer 202 while Redis is down and are replayed after it returns; none is lost")
    func spooled() async throws {
        try await withService(spool: true, persistent: true, recordTimeout: .milliseconds(300)) { service in
            let ready = try await service.send(.get, "/readyz", key: .some(nil))
            #expect(ready.status == 200)
            var acknowledged = 0
            for index in 0..<5 {
                let answer = try await service.send(
                    .post, "/v1/usage", key: service.appKey,
                    body: json(["user": "s", "call_id": "up\(index)", "input_tokens": 1, "output_tokens": 1]))
                // 200, or 202 when a busy machine made Redis slower than the record timeout.
                #expect(answer.status == 200 || answer.status == 202, "\(answer.text)")
                if answer.status == 200 || answer.status == 202 { acknowledged += 1 }
            }
            await service.redis.stop()
            let down = try await service.send(.get, "/readyz", key: .some(nil))
            #expect(down.status == 503)
            #expect(down.json["status"] as? String == "unavailable")
            for index in 0..<5 {
                let answer = try await service.send(
                    .post, "/v1/usage", key: service.appKey,
                    body: json(["user": "s", "call_id": "down\(index)", "input_tokens": 1, "output_tokens": 1]))
                #expect(answer.status == 202, "\(answer.text)")
                #expect(answer.json["spooled"] as? Bool == true)
                #expect(answer.json["call_id"] as? String == "down\(index)")
                if answer.status == 202 || answer.status == 200 { acknowledged += 1 }
            }
            try await service.redis.restart()
            #expect(
                await waitUntil(timeout: .seconds(120)) {
                    (try? await service.send(.get, "/readyz", key: .some(nil)).status) == 200
                })
            let replayed = await waitUntil(timeout: .seconds(120)) {
                (try? await service.repository.usage(user: "s").calls) == acknowledged
            }
            #expect(replayed)
            #expect((try await service.repository.usage(user: "s")).totalTokens == 2 * acknowledged)
        }
    }

    @Test("without a spool: 503 while Redis is down, nothing half-written; it works again after a restart")
    func unavailable() async throws {
        try await withService(persistent: true) { service in
            _ = try await service.send(.put, "/v1/users/n/limit", body: json(["tokens": 100]))
            await service.redis.stop()
            let record = try await service.send(
                .post, "/v1/usage", key: service.appKey,
                body: json(["user": "n", "call_id": "c", "input_tokens": 1, "output_tokens": 1]))
            #expect(record.status == 503, "\(record.text)")
            #expect(record.header(.contentType) == "application/problem+json")
            let reserve = try await service.send(
                .post, "/v1/reservations", key: service.appKey, body: json(["user": "n", "call_id": "r", "tokens": 5]))
            #expect(reserve.status == 503)
            try await service.redis.restart()
            #expect(
                await waitUntil(timeout: .seconds(120)) {
                    (try? await service.send(.get, "/readyz", key: .some(nil)).status) == 200
                })
            let usage = try await service.repository.usage(user: "n")
            #expect(usage.calls == 0 && usage.reserved == 0)
            let after = try await service.send(
                .post, "/v1/usage", key: service.appKey,
                body: json(["user": "n", "call_id": "c", "input_tokens": 1, "output_tokens": 1]))
            #expect(after.status == 200)
            #expect(after.json["applied"] as? Bool == true)
        }
    }

    @Test("/readyz is 503 for a schema newer than this build")
    func newerSchema() async throws {
        try await withService { service in
            _ = try await service.server.pool.send(SET(service.repository.keys.schema, value: "999"))
            let answer = try await service.send(.get, "/readyz", key: .some(nil))
            #expect(answer.status == 503)
            #expect(answer.json["schema"] as? String == "newer")
        }
    }
}

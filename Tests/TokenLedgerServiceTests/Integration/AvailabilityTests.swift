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

    @Test(
        "Redis paused: a record with a key Redis confirmed spools within its bound; a revoked key gets 503, never 202"
    )
    func pausedKeyLookup() async throws {
        // Replies may take 10 minutes: without the lookup's own bound, a record would wait that long
        // for the key before the spool's bound even started.
        try await withService(spool: true, recordTimeout: .milliseconds(300), commandTimeout: .seconds(600)) {
            service in
            let revoked = try await service.server.keyStore.create(name: "revoked-soon", role: .app)
            let record = { (callID: String) in
                json(["user": "p", "call_id": callID, "input_tokens": 1, "output_tokens": 1])
            }
            for (index, secret) in [service.appKey, revoked.secret].enumerated() {
                let answer = try await service.send(.post, "/v1/usage", key: secret, body: record("up\(index)"))
                #expect(answer.status == 200 || answer.status == 202, "\(answer.text)")
            }
            #expect(try await service.server.keyStore.revoke(name: "revoked-soon"))
            #expect(try await service.send(.post, "/v1/usage", key: revoked.secret, body: record("gone")).status == 401)
            // Redis confirms the app key again just before the pause: a key is remembered for 60 s
            // after its last confirmation, and on a loaded machine the steps above can take longer.
            let fresh = try await service.send(.post, "/v1/usage", key: service.appKey, body: record("fresh"))
            #expect(fresh.status == 200 || fresh.status == 202, "\(fresh.text)")
            try await service.redis.pause()
            let spooled = try await service.send(.post, "/v1/usage", key: service.appKey, body: record("paused"))
            #expect(spooled.status == 202, "\(spooled.text)")
            #expect(spooled.json["spooled"] as? Bool == true)
            let refused = try await service.send(.post, "/v1/usage", key: revoked.secret, body: record("paused-2"))
            #expect(refused.status == 503, "\(refused.text)")
            service.redis.resume()
            // Unauthenticated callers learn the kind of failure, never where Redis is.
            await service.redis.stop()
            let readiness = try await service.send(.get, "/readyz", key: .some(nil))
            #expect(readiness.status == 503)
            #expect(
                !readiness.text.contains("127.0.0.1") && !readiness.text.contains(String(service.redis.port)),
                "\(readiness.text)")
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

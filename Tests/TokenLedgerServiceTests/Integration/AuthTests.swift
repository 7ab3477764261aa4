import Foundation
import HTTPTypes
import RedisTestSupport
import Testing
import TokenLedger

@testable import TokenLedgerService

@Suite("Service auth")
struct AuthTests {
    @Test("no key, an unknown key or a malformed header is 401 with WWW-Authenticate: Bearer; nothing is written")
    func unauthorized() async throws {
        try await withService { service in
            let body = json(["user": "u", "call_id": "c", "input_tokens": 1, "output_tokens": 1])
            let unknown = "tl_0123456789abcdef_" + String(repeating: "A", count: 43)
            for key: String? in [nil, unknown, "not-a-key"] {
                let answer = try await service.send(.post, "/v1/usage", key: .some(key), body: body)
                #expect(answer.status == 401)
                #expect(answer.header(.wwwAuthenticate) == "Bearer")
                #expect(answer.json["code"] as? String == "unauthorized")
                if let key { #expect(!answer.text.contains(key)) }
            }
            let basic = try await service.send(
                .post, "/v1/usage", key: .some(nil), body: body, headers: [.authorization: "Basic dTpw"])
            #expect(basic.status == 401)
            #expect((try await service.repository.usage(user: "u")).calls == 0)
        }
    }

    @Test("the Bearer scheme is case-insensitive and spaces or tabs around the key are ignored")
    func headerForms() async throws {
        try await withService { service in
            let key = service.appKey
            for (index, header) in ["bearer \(key)", "BEARER    \(key)", "Bearer \t\(key)\t", "Bearer  \(key) "]
                .enumerated()
            {
                let answer = try await service.send(
                    .post, "/v1/usage", key: .some(nil),
                    body: json(["user": "h", "call_id": "c\(index)", "input_tokens": 1, "output_tokens": 1]),
                    headers: [.authorization: header])
                #expect(answer.status == 200, "\(header.debugDescription): \(answer.text)")
            }
            let glued = try await service.send(
                .post, "/v1/usage", key: .some(nil), body: json(["user": "h", "call_id": "x"]),
                headers: [.authorization: "Bearer\(key)"])
            #expect(glued.status == 401)
            #expect((try await service.repository.usage(user: "h")).calls == 4)
        }
    }

    @Test(
        "roles: app records but may not read; read reads usage but may not record or read or set limits; admin does everything"
    )
    func roles() async throws {
        try await withService { service in
            let record = json(["user": "u", "call_id": "c", "input_tokens": 1, "output_tokens": 1])
            #expect(try await service.send(.post, "/v1/usage", key: service.appKey, body: record).status == 200)
            let appReads = try await service.send(.get, "/v1/users/u/usage", key: service.appKey)
            #expect(appReads.status == 403)
            #expect(appReads.json["code"] as? String == "forbidden")
            #expect(
                try await service.send(.put, "/v1/users/u/limit", key: service.appKey, body: json(["tokens": 1])).status
                    == 403)
            #expect(try await service.send(.get, "/v1/users/u/usage", key: service.readKey).status == 200)
            // SPEC's table puts reading a limit under admin too.
            let readLimit = try await service.send(.get, "/v1/users/u/limit", key: service.readKey)
            #expect(readLimit.status == 403)
            #expect(readLimit.json["code"] as? String == "forbidden")
            #expect(try await service.send(.get, "/v1/users/u/limit", key: service.appKey).status == 403)
            #expect(try await service.send(.get, "/v1/users/u/limit").status == 200)
            #expect(try await service.send(.get, "/v1/report", key: service.readKey).status == 200)
            let readRecords = try await service.send(
                .post, "/v1/usage", key: service.readKey,
                body: json(["user": "u", "call_id": "d", "input_tokens": 1, "output_tokens": 1]))
            #expect(readRecords.status == 403)
            #expect(
                try await service.send(.put, "/v1/users/u/limit", key: service.readKey, body: json(["tokens": 1]))
                    .status == 403)
            #expect(
                try await service.send(
                    .put, "/v1/users/u/cycle-policy", key: service.readKey, body: json(["period": "daily"])
                ).status == 403)
            #expect(try await service.send(.put, "/v1/users/u/limit", body: json(["tokens": 9])).status == 200)
            #expect(
                try await service.send(
                    .post, "/v1/usage",
                    body: json(["user": "u", "call_id": "e", "input_tokens": 1, "output_tokens": 1])
                ).status == 200)
            let usage = try await service.repository.usage(user: "u")
            #expect(usage.calls == 2 && usage.limit == 9)
            for path in ["/healthz", "/readyz", "/metrics", "/openapi.yaml"] {
                #expect(try await service.send(.get, path, key: .some(nil)).status == 200, "\(path)")
            }
        }
    }

    @Test("a key revoked while in use stops working at the next request")
    func revokedAtOnce() async throws {
        try await withService { service in
            let store = try APIKeyStore(pool: service.server.pool, namespace: service.namespace)
            let created = try await store.create(name: "short-lived", role: .app)
            let body = { (id: String) in json(["user": "v", "call_id": id, "input_tokens": 1, "output_tokens": 1]) }
            #expect(try await service.send(.post, "/v1/usage", key: created.secret, body: body("a")).status == 200)
            #expect(try await store.revoke(name: "short-lived"))
            let after = try await service.send(.post, "/v1/usage", key: created.secret, body: body("b"))
            #expect(after.status == 401)
            #expect((try await service.repository.usage(user: "v")).calls == 1)
        }
    }
}

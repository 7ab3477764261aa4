import Foundation
import RedisTestSupport
import Testing
import TokenLedger

@testable import TokenLedgerService

@Suite("Service bad input")
struct BadInputTests {
    /// A bad body for POST /v1/usage, the status, code and field it must get.
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var body: [UInt8]
        var status: Int
        var code: String
        var field: String?
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "malformed JSON", body: Array(#"{"user":"u","#.utf8), status: 400, code: "malformed_json",
            field: "body"),
        Case(name: "not an object", body: Array("[1,2]".utf8), status: 400, code: "malformed_json", field: "body"),
        Case(name: "empty body", body: [], status: 400, code: "malformed_json", field: "body"),
        Case(
            name: "wrong type", body: Array(#"{"user":"u","call_id":"c","input_tokens":"10","output_tokens":1}"#.utf8),
            status: 400, code: "wrong_type", field: "input_tokens"),
        Case(
            name: "negative count",
            body: Array(#"{"user":"u","call_id":"c","input_tokens":-1,"output_tokens":1}"#.utf8),
            status: 400, code: "invalid_token_count", field: "input_tokens"),
        Case(
            name: "huge count",
            body: Array(#"{"user":"u","call_id":"c","input_tokens":1,"output_tokens":1000000000001}"#.utf8),
            status: 400, code: "invalid_token_count", field: "output_tokens"),
        Case(
            name: "count past 64 bits",
            body: Array(#"{"user":"u","call_id":"c","input_tokens":1e400,"output_tokens":1}"#.utf8),
            status: 400, code: "malformed_json", field: "body"),
        Case(
            name: "fractional count",
            body: Array(#"{"user":"u","call_id":"c","input_tokens":1.5,"output_tokens":1}"#.utf8),
            status: 400, code: "invalid_token_count", field: "input_tokens"),
        Case(
            name: "unknown field",
            body: Array(#"{"user":"u","call_id":"c","input_tokens":1,"output_tokens":1,"colour":"red"}"#.utf8),
            status: 400, code: "unknown_field", field: "colour"),
        Case(
            name: "missing field", body: Array(#"{"user":"u","call_id":"c","input_tokens":1}"#.utf8),
            status: 400, code: "missing_field", field: "output_tokens"),
        Case(
            name: "invalid UTF-8 user",
            body: Array(#"{"user":"u"#.utf8) + [0xC3, 0x28]
                + Array(#"","call_id":"c","input_tokens":1,"output_tokens":1}"#.utf8),
            status: 400, code: "invalid_utf8", field: "user"),
        Case(
            name: "control character in user",
            body: Array(#"{"user":"u\u0001","call_id":"c","input_tokens":1,"output_tokens":1}"#.utf8),
            status: 400, code: "invalid_user_id", field: "user"),
        Case(
            name: "user over 256 bytes",
            body: Array(
                #"{"user":"\#(String(repeating: "x", count: 257))","call_id":"c","input_tokens":1,"output_tokens":1}"#
                    .utf8),
            status: 400, code: "invalid_user_id", field: "user"),
        Case(
            name: "counts and a response",
            body: Array(#"{"user":"u","call_id":"c","input_tokens":1,"response":{"usage":{}}}"#.utf8),
            status: 400, code: "conflicting_fields", field: "input_tokens"),
        Case(
            name: "malformed provider response",
            body: Array(
                #"{"user":"u","call_id":"c","response":{"usage":{"prompt_tokens":-3,"completion_tokens":1}}}"#.utf8),
            status: 400, code: "invalid_value", field: "response"),
    ]

    @Test("POST /v1/usage refuses bad input with the documented problem and writes nothing", arguments: cases)
    func refused(_ bad: Case) async throws {
        try await withService { service in
            let answer = try await service.send(.post, "/v1/usage", key: service.appKey, bytes: bad.body)
            #expect(answer.status == bad.status, "\(answer.text)")
            #expect(answer.header(.contentType) == "application/problem+json")
            #expect(answer.json["code"] as? String == bad.code, "\(answer.text)")
            #expect(answer.json["field"] as? String == bad.field, "\(answer.text)")
            #expect(answer.json["status"] as? Int == bad.status)
            #expect((answer.json["detail"] as? String)?.isEmpty == false)
            #expect((answer.json["type"] as? String)?.hasPrefix("urn:tokenledger:problem:") == true)
            let report = try await service.repository.report()
            #expect(report.users.isEmpty)
        }
    }

    @Test("a body over the limit is a 413 problem and nothing is written")
    func bodyTooLarge() async throws {
        try await withService(bodyLimit: 1024) { service in
            let padding = String(repeating: "x", count: 2000)
            let answer = try await service.send(
                .post, "/v1/usage", key: service.appKey,
                body: json([
                    "user": "big", "call_id": "c", "input_tokens": 1, "output_tokens": 1, "model": padding,
                ]))
            #expect(answer.status == 413)
            #expect(answer.json["code"] as? String == "body_too_large")
            #expect((try await service.repository.usage(user: "big")).calls == 0)
        }
    }

    @Test("invalid UTF-8 and malformed escapes in a path user id are refused, never replaced; nothing is written")
    func invalidPathUser() async throws {
        try await withService { service in
            let invalid = try await service.send(.put, "/v1/users/a%FFb/limit", body: json(["tokens": 5]))
            #expect(invalid.status == 400)
            #expect(invalid.json["code"] as? String == "invalid_utf8")
            #expect(invalid.json["field"] as? String == "user")
            let replaced = try await service.repository.limit(user: "a\u{FFFD}b")
            #expect(replaced.own == nil)
            let escape = try await service.send(.get, "/v1/users/a%G1/usage", key: service.readKey)
            #expect(escape.status == 400)
            #expect(escape.json["code"] as? String == "invalid_parameter")
            let release = try await service.send(.delete, "/v1/reservations/c1?user=%C3", key: service.appKey)
            #expect(release.status == 400)
            #expect(release.json["field"] as? String == "user")
            let unknownQuery = try await service.send(.get, "/v1/report?colour=red", key: service.readKey)
            #expect(unknownQuery.status == 400)
            #expect(unknownQuery.json["field"] as? String == "colour")
        }
    }

    @Test("a reused reservation call id with another amount is a 409 problem; the lease is unchanged")
    func reservationConflict() async throws {
        try await withService { service in
            let first = try await service.send(
                .post, "/v1/reservations", key: service.appKey, body: json(["user": "r", "call_id": "c", "tokens": 10]))
            #expect(first.status == 201)
            let conflict = try await service.send(
                .post, "/v1/reservations", key: service.appKey, body: json(["user": "r", "call_id": "c", "tokens": 11]))
            #expect(conflict.status == 409)
            #expect(conflict.json["code"] as? String == "reservation_conflict")
            #expect(conflict.json["field"] as? String == "tokens")
            #expect((try await service.repository.check(user: "r")).reserved == 10)
        }
    }

    @Test("a reused record call id with another total is a 409 problem and changes nothing; the same total is a retry")
    func recordConflict() async throws {
        try await withService { service in
            let first = try await service.send(
                .post, "/v1/usage", key: service.appKey,
                body: json(["user": "w", "call_id": "c", "input_tokens": 10, "output_tokens": 5]))
            #expect(first.status == 200)
            let retry = try await service.send(
                .post, "/v1/usage", key: service.appKey,
                body: json(["user": "w", "call_id": "c", "input_tokens": 10, "output_tokens": 5]))
            #expect(retry.status == 200)
            #expect(retry.json["applied"] as? Bool == false)
            let conflict = try await service.send(
                .post, "/v1/usage", key: service.appKey,
                body: json(["user": "w", "call_id": "c", "input_tokens": 10, "output_tokens": 6]))
            #expect(conflict.status == 409)
            #expect(conflict.json["code"] as? String == "call_conflict")
            #expect(conflict.json["field"] as? String == "call_id")
            let usage = try await service.repository.usage(user: "w")
            #expect(usage.calls == 1 && usage.totalTokens == 15)
        }
    }

    @Test("a settle repeating a call id with another total is a 409 problem and keeps the lease; the same total is 200")
    func settleConflict() async throws {
        try await withService { service in
            let reserved = try await service.send(
                .post, "/v1/reservations", key: service.appKey, body: json(["user": "s", "call_id": "c", "tokens": 50]))
            #expect(reserved.status == 201)
            let recorded = try await service.send(
                .post, "/v1/usage", key: service.appKey,
                body: json(["user": "s", "call_id": "c", "input_tokens": 10, "output_tokens": 5]))
            #expect(recorded.status == 200)
            let conflict = try await service.send(
                .post, "/v1/reservations/c/settle", key: service.appKey,
                body: json(["user": "s", "input_tokens": 10, "output_tokens": 7]))
            #expect(conflict.status == 409)
            #expect(conflict.json["code"] as? String == "call_conflict")
            #expect(conflict.json["field"] as? String == "call_id")
            let detail = conflict.json["detail"] as? String ?? ""
            #expect(detail.contains("15") && detail.contains("17"), "\(detail)")
            #expect((try await service.repository.check(user: "s")).reserved == 50, "the lease stays")
            let retry = try await service.send(
                .post, "/v1/reservations/c/settle", key: service.appKey,
                body: json(["user": "s", "input_tokens": 10, "output_tokens": 5]))
            #expect(retry.status == 200 && retry.json["applied"] as? Bool == false)
            #expect(retry.json["released_tokens"] as? Int == 50)
            let usage = try await service.repository.usage(user: "s")
            #expect(usage.calls == 1 && usage.totalTokens == 15)
        }
    }

    @Test("a wrong method on a known path is 405 with Allow; an unknown path is 404")
    func methodNotAllowed() async throws {
        try await withService { service in
            let answer = try await service.send(.get, "/v1/usage")
            #expect(answer.status == 405)
            #expect(answer.json["code"] as? String == "method_not_allowed")
            #expect(answer.header(.allow) == "POST")
            let limit = try await service.send(.post, "/v1/users/x/limit")
            #expect(limit.status == 405)
            #expect(Set((limit.header(.allow) ?? "").components(separatedBy: ", ")) == ["GET", "PUT", "DELETE"])
        }
    }
}

import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

@testable import TokenLedgerService

#if canImport(Glibc)
    import Glibc
#endif

/// The problem of each kind of error, from errors really thrown by the library and the server (not
/// built by hand): their status and stable code.
@Suite("Problems of real errors")
struct ProblemMappingTests {
    @Test("a Redis timeout and an ACL refusal are 503 with the Redis code; a bad user id is 400 naming the field")
    func redisAndLibraryErrors() async throws {
        var options = RedisTestServer.Options()
        options.aclUsers = [(name: "no-set", password: "no-set-secret", rules: "~* &* +@all -set")]
        try await withRedisServer(options) { server async throws in
            var refused = server.configuration
            refused.username = "no-set"
            refused.password = "no-set-secret"
            let refusedPool = RedisConnectionPool(configuration: refused)
            do {
                _ = try await refusedPool.send(RedisCommand("SET", "k", "v"))
                Issue.record("SET must be refused for this user")
            } catch {
                #expect((error as? RedisError)?.serverCode == "NOPERM", "\(error)")
                let problem = Problem.of(error)
                #expect(problem.status == 503 && problem.code == (error as? RedisError)?.code.rawValue)
                #expect(!problem.detail.contains("no-set-secret"))
            }
            await refusedPool.close()

            var slow = server.configuration
            slow.commandTimeout = .milliseconds(200)
            let slowPool = RedisConnectionPool(configuration: slow)
            _ = try await slowPool.send(PING())  // connected before the server stops answering
            server.signal(SIGSTOP)
            do {
                _ = try await slowPool.send(PING())
                Issue.record("a paused server must time out")
            } catch {
                server.signal(SIGCONT)
                #expect((error as? RedisError)?.code == .timeout, "\(error)")
                let problem = Problem.of(error)
                #expect(problem.status == 503 && problem.code == "timeout", "\(problem.code)")
            }
            server.signal(SIGCONT)
            await slowPool.close()

            let repository = try TokenRepository(pool: RedisConnectionPool(configuration: server.configuration))
            do {
                _ = try await repository.record(
                    user: "", callID: "c", usage: UsageRecord(inputTokens: 1, outputTokens: 1))
                Issue.record("an empty user id must be refused")
            } catch {
                let problem = Problem.of(error)
                #expect(problem.status == 400 && problem.code == "invalid_user_id" && problem.field == "user_id")
            }
            await repository.pool.close()
        }
    }

    @Test("a body over the limit, read through the real server, is 413 body_too_large")
    func bodyOverTheLimit() async throws {
        try await withService(bodyLimit: 64) { service in
            let answer = try await service.send(
                .post, "/v1/usage", key: service.appKey,
                body: json([
                    "user": String(repeating: "u", count: 100), "call_id": "c", "input_tokens": 1, "output_tokens": 1,
                ]))
            #expect(answer.status == 413)
            #expect(answer.json["code"] as? String == "body_too_large")
            #expect(answer.json["status"] as? Int == 413)
        }
    }
}

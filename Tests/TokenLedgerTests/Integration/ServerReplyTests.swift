import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

/// Waits (generous deadline, no fixed sleep) until `condition` holds.
func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            throw RedisTestServerError(message: "timed out waiting until \(what)")
        }
        await Task.yield()
        try await Task.sleep(for: .milliseconds(20))  // polling interval, not synchronization: the condition decides
    }
}

/// Writes small keys until the server refuses with OOM (small, so the refused command's own buffer
/// does not decide it); returns whether it did.
func fillUntilOutOfMemory(_ pool: RedisConnectionPool) async throws -> Bool {
    let filler = String(repeating: "x", count: 1024)
    for batch in 0..<400 {
        let replies = try await pool.pipeline((0..<100).map { RedisCommand("SET", "fill:\(batch):\($0)", filler) })
        if replies.contains(where: {
            if case .error(let error) = $0 { return error.serverCode == "OOM" } else { return false }
        }) {
            return true
        }
    }
    return false
}

@Suite("Server refusals mapped to unavailable or permission errors")
struct ServerReplyTests {
    @Test(
        "availability replies are unavailable with a sentence; permission replies are permission errors",
        arguments: [
            ("READONLY You can't write against a read only replica.", "read-only replica", false),
            ("OOM command not allowed when used memory > 'maxmemory'.", "out of memory", false),
            ("LOADING Redis is loading the dataset in memory", "still loading", false),
            ("BUSY Redis is busy running a script.", "busy running a script", false),
            ("MASTERDOWN Link with MASTER is down", "lost its link to the primary", false),
            ("CLUSTERDOWN The cluster is down", "cluster is down", false),
            ("TRYAGAIN Multiple keys request during rehashing of slot", "resharding", false),
            ("MOVED 3999 127.0.0.1:6381", "redirection was not followed", false),
            ("ASK 3999 127.0.0.1:6381", "redirection was not followed", false),
            ("NOPERM this user has no permissions to run the 'info' command", "permission denied", true),
            ("WRONGPASS invalid username-password pair or user is disabled.", "permission denied", true),
            ("NOAUTH Authentication required.", "permission denied", true),
            (
                "ERR The user executing the script can't run this command or subcommand script: ab, on @user_script:1.",
                "permission denied", true
            ),
        ])
    func mapping(reply: String, sentence: String, permission: Bool) {
        let error = RedisError(serverReply: reply)
        #expect(error.isPermissionDenied == permission)
        #expect(error.isServerUnavailable == !permission)
        #expect(error.message.contains(sentence))
        #expect(!error.message.hasPrefix(reply))  // a sentence first, the server's text after it
        #expect(!RedisError(serverReply: "WRONGTYPE Operation against a key").isServerUnavailable)
        #expect(!RedisError(serverReply: "WRONGTYPE Operation against a key").isPermissionDenied)
    }

    @Test("a read-only replica: writes are unavailable (READONLY), and doctor says it is a replica")
    func replica() async throws {
        try await withRedisServer { primary async throws in
            var options = RedisTestServer.Options()
            options.extraArguments = ["--replicaof", "127.0.0.1", String(primary.port)]
            try await withRedisServer(options) { replica async throws in
                let pool = RedisConnectionPool(configuration: replica.configuration)
                try await waitUntil("the replica is linked") {
                    (try await pool.send(RedisCommand("INFO", "replication")).string ?? "").contains(
                        "master_link_status:up")
                }
                let repository = try TokenRepository(
                    pool: pool,
                    configuration: try LedgerConfiguration(namespace: uniqueNamespace("tl"), settingsCacheTTL: .zero))
                await #expect {
                    _ = try await repository.record(
                        user: "u", callID: "c", usage: UsageRecord(inputTokens: 1, outputTokens: 1))
                } throws: { error in
                    let error = try #require(error as? RedisError)
                    return error.serverCode == "READONLY" && error.isServerUnavailable
                        && error.message.contains("read-only replica")
                }
                let checks = try await Diagnostics.run(repository: repository)
                let role = try #require(checks.first { $0.name == "role" })
                #expect(role.status == .fail && role.detail.contains("read-only replica of 127.0.0.1:\(primary.port)"))
                await pool.close()
            }
        }
    }

    @Test("a full server (maxmemory, noeviction): writes are unavailable (OOM) with a sentence")
    func outOfMemory() async throws {
        var options = RedisTestServer.Options()
        options.extraArguments = ["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"]
        try await withRedisServer(options) { server async throws in
            let pool = RedisConnectionPool(configuration: server.configuration)
            let repository = try TokenRepository(
                pool: pool,
                configuration: try LedgerConfiguration(namespace: uniqueNamespace("tl"), settingsCacheTTL: .zero))
            _ = try await Diagnostics.loadScripts(repository: repository)
            let full = try await fillUntilOutOfMemory(pool)
            #expect(full)
            await #expect {
                _ = try await repository.record(
                    user: "u", callID: "c", usage: UsageRecord(inputTokens: 1, outputTokens: 1))
            } throws: { error in
                let error = try #require(error as? RedisError)
                return error.serverCode == "OOM" && error.isServerUnavailable && error.message.contains("out of memory")
            }
            await pool.close()
        }
    }

    @Test("a recorder with a spool does not spool a wrong password: the caller gets the permission error")
    func wrongPasswordIsNotSpooled() async throws {
        var options = RedisTestServer.Options()
        options.requirePassword = "right-Pa55"
        try await withRedisServer(options) { server async throws in
            var configuration = server.configuration
            configuration.password = "wrong-Pa55"
            let pool = RedisConnectionPool(configuration: configuration)
            let repository = try TokenRepository(
                pool: pool, configuration: try LedgerConfiguration(namespace: uniqueNamespace("tl")))
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)")
            let spool = try EventSpool(directory: directory.path)
            let recorder = UsageRecorder(
                repository: repository, spool: spool, options: .init(recordTimeout: .seconds(30)))
            // Its background work (flusher, pipeline follow-ups) runs in run(); shutdown() ends it.
            async let recorderRunning: Void = recorder.run()
            let outcome = await recorder.record(
                user: "u", callID: "c1", usage: UsageRecord(inputTokens: 1, outputTokens: 1))
            guard case .failed(let error) = outcome else {
                Issue.record("expected a failure, got \(outcome)")
                return
            }
            #expect((error as? RedisError)?.isPermissionDenied == true)
            #expect(!"\(error)".contains("wrong-Pa55"))
            #expect(spool.status().events == 0)
            await recorder.shutdown()
            try await recorderRunning
            await pool.close()
            try? FileManager.default.removeItem(at: directory)
        }
    }
}

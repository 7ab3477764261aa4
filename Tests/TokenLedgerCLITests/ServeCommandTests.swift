import Foundation
import RedisTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a running program's stderr until `found` finds what it looks for in the text read so far;
/// `nil` if the program exits first.
private func readStderr<T: Sendable>(
    _ running: RunningCLI, until found: @escaping @Sendable (String) -> T?
) async -> T? {
    let handle = running.err.fileHandleForReading
    return await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            var text = ""
            while true {
                let data = handle.availableData
                if data.isEmpty { return continuation.resume(returning: nil) }
                text += String(decoding: data, as: UTF8.self)
                if let value = found(text) { return continuation.resume(returning: value) }
            }
        }
    }
}

/// Reads a running `tokenledger serve`'s stderr until it says where it listens; `nil` if it exits first.
private func listeningPort(_ running: RunningCLI) async -> Int? {
    await readStderr(running) { text in
        guard let range = text.range(of: "listening on http://127.0.0.1:"),
            let end = text[range.upperBound...].firstIndex(of: "\n")
        else { return nil }
        return Int(text[range.upperBound..<end])
    }
}

/// `curl` one request; the status code is the last line of stdout.
private func curl(
    _ method: String, _ url: String, key: String? = nil, body: String? = nil
) async throws -> (status: Int, body: String) {
    var arguments = ["-s", "-X", method, "-w", "\n%{http_code}", url]
    if let key { arguments += ["-H", "Authorization: Bearer \(key)"] }
    if let body { arguments += ["-d", body] }
    let result = try await Program.run("curl", arguments)
    let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
    return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
}

@Suite("serve command")
struct ServeCommandTests {
    @Test(
        "SIGTERM while Redis is down: the in-flight record answers 202, serve exits 0, and spool flush replays it once Redis is back"
    )
    func sigtermWithSpoolWhileRedisIsDown() async throws {
        let spool = FileManager.default.temporaryDirectory.appendingPathComponent("serve-spool-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: spool) }
        var options = RedisTestServer.Options()
        options.appendOnly = true
        options.appendFsync = "always"
        try await withRedisServer(options) { server async throws in
            let globals = ["--redis", "redis://127.0.0.1:\(server.port)", "--namespace", "serve-spool"]
            let environment = ["TOKENLEDGER_SPOOL_DIR": spool.path]
            let created = try await CLI.run(["key", "create", "svc", "--role", "app", "--format", "json"] + globals)
            try #require(created.status == 0, "\(created.stderr)")
            let secret = try #require(try jsonObject(created.stdout)["secret"] as? String)
            let running = try CLI.start(["serve", "--port", "0"] + globals, environment: environment)
            let port = try #require(await listeningPort(running), "serve did not start")
            let base = "http://127.0.0.1:\(port)"
            let first = try await curl(
                "POST", base + "/v1/usage", key: secret,
                body: #"{"user":"bob","call_id":"up","input_tokens":10,"output_tokens":5}"#)
            // 200, or 202 when a loaded machine made Redis slower than the record timeout: the
            // spool flush below replays it, so the totals are the same either way.
            #expect(first.status == 200 || first.status == 202, "\(first.body)")

            // Redis stops answering (a paused process: connections open, no replies), so the next
            // record waits for the record timeout and is spooled; SIGTERM comes while it waits.
            server.signal(SIGSTOP)
            let inFlight = try CLI.launch(
                URL(fileURLWithPath: "/usr/bin/curl"),
                [
                    "-sv", "-X", "POST", "-w", "\n%{http_code}", base + "/v1/usage", "-H",
                    "Authorization: Bearer \(secret)",
                    "-d", #"{"user":"bob","call_id":"down","input_tokens":20,"output_tokens":2}"#,
                ], environment: ProcessInfo.processInfo.environment, stdin: nil)
            let sent = await readStderr(inFlight) { $0.contains("bytes data]") ? true : nil }
            #expect(sent == true, "curl sent the request")
            running.process.terminate()  // SIGTERM
            let answer = await inFlight.finish()
            let lines = answer.stdout.split(separator: "\n")
            #expect(lines.last == "202", "\(answer.stdout) \(answer.stderr)")
            #expect(answer.stdout.contains(#""spooled":true"#))
            let result = await running.finish()
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!result.stderr.contains(secret))

            server.signal(SIGCONT)
            let flushed = try await CLI.run(["spool", "flush"] + globals, environment: environment)
            #expect(flushed.status == 0, "\(flushed.stderr)")
            let read = try await CLI.run(["usage", "bob", "--format", "json"] + globals)
            try #require(read.status == 0, "\(read.stderr)")
            let usage = try jsonObject(read.stdout)
            #expect(usage["total_tokens"] as? Int == 37, "\(usage)")
            #expect(usage["calls"] as? Int == 2)
        }
    }

    @Test("tokenledger serve answers on its port, records with an app key, and exits 0 on SIGTERM with the usage kept")
    func serveAndStop() async throws {
        try await withRedisServer { server async throws in
            let globals = ["--redis", "redis://127.0.0.1:\(server.port)", "--namespace", "serve-test"]
            let created = try await CLI.run(["key", "create", "svc", "--role", "app", "--format", "json"] + globals)
            #expect(created.status == 0, "\(created.stderr)")
            let secret = try #require(try jsonObject(created.stdout)["secret"] as? String)

            let running = try CLI.start(["serve", "--port", "0"] + globals)
            let port = try #require(await listeningPort(running), "serve did not start")
            let base = "http://127.0.0.1:\(port)"
            #expect(try await curl("GET", base + "/healthz").status == 200)
            #expect(try await curl("GET", base + "/readyz").status == 200)
            for index in 0..<3 {
                let answer = try await curl(
                    "POST", base + "/v1/usage", key: secret,
                    body: #"{"user":"alice","call_id":"c\#(index)","input_tokens":10,"output_tokens":5}"#)
                #expect(answer.status == 200, "\(answer.body)")
                #expect(try jsonObject(answer.body)["applied"] as? Bool == true)
            }
            let unauthorized = try await curl(
                "POST", base + "/v1/usage", body: #"{"user":"alice","call_id":"x","input_tokens":1,"output_tokens":1}"#)
            #expect(unauthorized.status == 401)

            running.process.terminate()  // SIGTERM
            let result = await running.finish()
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!result.stderr.contains(secret))
            let usage = try jsonObject(try await CLI.run(["usage", "alice", "--format", "json"] + globals).stdout)
            #expect(usage["total_tokens"] as? Int == 45)
            #expect(usage["calls"] as? Int == 3)
        }
    }

    @Test("serve refuses a pool wait that rounds to no wait, or is not a number, as a usage error (exit 64)")
    func poolWaitBounds() async throws {
        for value in ["0.0004", "0", "-1", "3601", "soon"] {
            let result = try await CLI.run(["serve", "--port", "0", "--pool-wait", value])
            #expect(result.status == 64, "--pool-wait \(value): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("pool-wait"), "\(result.stderr)")
        }
    }
}

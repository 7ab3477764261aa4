import Foundation
import RedisTestSupport
import Testing

/// Reads a running `tokenledger serve`'s stderr until it says where it listens; `nil` if it exits first.
private func listeningPort(_ running: RunningCLI) async -> Int? {
    let handle = running.err.fileHandleForReading
    return await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            var text = ""
            while true {
                let data = handle.availableData
                if data.isEmpty { return continuation.resume(returning: nil) }
                text += String(decoding: data, as: UTF8.self)
                if let range = text.range(of: "listening on http://127.0.0.1:"),
                    let end = text[range.upperBound...].firstIndex(of: "\n")
                {
                    return continuation.resume(returning: Int(text[range.upperBound..<end]))
                }
            }
        }
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
}

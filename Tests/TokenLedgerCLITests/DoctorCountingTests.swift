import Foundation
import RedisTestSupport
import Testing

@Suite("tokenledger doctor: which token counting is in use")
struct DoctorCountingTests {
    @Test("with TOKENLEDGER_BPE_DIR doctor reports exact BPE counting; without, the heuristic fallback and why")
    func countingMode() async throws {
        let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts")
        let located = try await Program.run(
            "python3", [scripts.appendingPathComponent("bpe_reference.py").path, "locate"]
        ).stdout
        let directory = try #require(try jsonObject(located)["directory"] as? String, "pip install tiktoken bpe-openai")
        try await withRedisServer { server async throws in
            let redis = "redis://127.0.0.1:\(server.port)"
            let exact = try await CLI.run(
                ["doctor", "--redis", redis, "--format", "json"], environment: ["TOKENLEDGER_BPE_DIR": directory])
            #expect(exact.status == 0, "stderr: \(exact.stderr)")
            let exactCheck = try counting(exact.stdout)
            #expect(exactCheck["status"] as? String == "ok")
            let detail = exactCheck["detail"] as? String ?? ""
            #expect(detail.contains("exact BPE counting (o200k_base, cl100k_base) from \(directory)"), "\(detail)")

            let fallback = try await CLI.run(["doctor", "--redis", redis])
            #expect(fallback.status == 0, "a warning is not a failure; stderr: \(fallback.stderr)")
            #expect(
                fallback.stdout.contains("warn  counting: heuristic estimates (the fallback)"), "\(fallback.stdout)")

            let broken = try await CLI.run(
                ["doctor", "--redis", redis], environment: ["TOKENLEDGER_BPE_DIR": "/nonexistent/ranks"])
            #expect(broken.status == 70, "a configured directory with no rank file fails; \(broken.stdout)")
            #expect(broken.stdout.contains("fail  counting: no rank file loads"), "\(broken.stdout)")
        }
    }

    /// The `counting` check of `doctor --format json`'s output.
    private func counting(_ stdout: String) throws -> [String: Any] {
        let checks = try #require(try jsonObject(stdout)["checks"] as? [[String: Any]])
        return try #require(checks.first { $0["name"] as? String == "counting" }, "\(stdout)")
    }
}

import Foundation
import Testing

/// Runs `scripts/proxy_sdk_client.py` (the official `openai` and `anthropic` Python SDKs, from
/// PyPI: `scripts/bootstrap` installs them) against a proxy, off the cooperative pool.
enum SDKRunner {
    /// The repository's root, found from this file.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// What the script printed, as JSON.
    struct Result: @unchecked Sendable {
        // @unchecked: an immutable Foundation JSON object, only read.
        let json: [String: Any]
        let stderr: String

        var ok: Bool { json["ok"] as? Bool ?? false }
        var error: String? { json["error"] as? String }
        var status: Int? { json["status"] as? Int }
        var usage: [String: Any]? { json["usage"] as? [String: Any] }
        var headers: [String: String] { json["headers"] as? [String: String] ?? [:] }
    }

    /// Runs one scenario for `user` against `harness`'s proxy.
    static func run(
        _ scenario: String, user: String, harness: ProxyHarness, model: String? = nil, key: String? = nil
    ) async throws -> Result {
        var environment = ProcessInfo.processInfo.environment
        environment["PROXY_BASE_URL"] = harness.baseURL
        environment["PROXY_APP_KEY"] = key ?? harness.appKey
        environment["PROXY_USER"] = user
        if let model { environment["PROXY_MODEL"] = model }
        // The SDKs read these too; the proxy, not the client, holds the provider keys.
        for name in ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"] {
            environment.removeValue(forKey: name)
        }
        // Output goes to files read after the exit: a pipe read can be interrupted by a signal
        // (EINTR), which Foundation's FileHandle turns into a crash.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sdk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("stdout")
        let errURL = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("scripts/proxy_sdk_client.py").path, scenario]
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finished in continuation.resume(returning: finished.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let stdout = String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self)
        let stderr = String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self)
        let line = stdout.split(separator: "\n").last.map(String.init) ?? ""
        guard status == 0, let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else {
            Issue.record("proxy_sdk_client.py \(scenario) exited \(status): \(stdout)\n\(stderr)")
            throw SDKRunnerError(
                message: "the SDK script failed (is `pip install openai anthropic` done? scripts/bootstrap)")
        }
        return Result(json: object, stderr: stderr)
    }
}

struct SDKRunnerError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

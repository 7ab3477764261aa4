import Foundation
import Testing

/// The result of one `tokenledger` run.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs the built `tokenledger` executable (next to the test bundle) as a child process.
enum CLI {
    /// The executable: `TOKENLEDGER_BIN` if set, else `tokenledger` beside this test binary.
    static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["TOKENLEDGER_BIN"] {
            return URL(fileURLWithPath: path)
        }
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return me.deletingLastPathComponent().appendingPathComponent("tokenledger")
    }

    /// The benchmark executable beside this test binary (its `loadgen` mode drives durability tests).
    static var benchmark: URL { executable.deletingLastPathComponent().appendingPathComponent("TokenLedgerBenchmark") }

    /// Runs `tokenledger arguments…` with the environment (merged over a clean one) and optional stdin.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil
    ) async throws -> CLIResult {
        try await start(arguments, environment: environment, stdin: stdin).finish()
    }

    /// Starts `tokenledger arguments…` without waiting, so many can run at once. The child gets
    /// this process's environment without TokenLedger's and Redis's variables, plus `environment`.
    static func start(
        _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil, executable: URL = executable
    ) throws -> RunningCLI {
        var env = ProcessInfo.processInfo.environment
        for name in ["REDIS_URL", "REDIS_PASSWORD", "TOKENLEDGER_NAMESPACE", "TOKENLEDGER_SPOOL_DIR"] {
            env.removeValue(forKey: name)
        }
        for (key, value) in environment { env[key] = value }
        return try launch(executable, arguments, environment: env, stdin: stdin)
    }

    /// Starts a child process with exactly `environment`, feeding it `stdin`.
    static func launch(
        _ executable: URL, _ arguments: [String], environment: [String: String], stdin: String?
    ) throws -> RunningCLI {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        return RunningCLI(process: process, out: out, err: err)
    }
}

/// Any program found on PATH (python3, redis-cli, chromium…), for tests that need one.
enum Program {
    /// Runs `program arguments…` with this process's environment plus `environment`, and waits for
    /// it (off the cooperative pool); it is terminated if it runs longer than `timeout`.
    static func run(
        _ program: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
        timeout: Duration = .seconds(120)
    ) async throws -> CLIResult {
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        let running = try CLI.launch(
            URL(fileURLWithPath: "/usr/bin/env"), [program] + arguments, environment: env, stdin: stdin)
        let process = running.process
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(Int(timeout.components.seconds))) {
            if process.isRunning { process.terminate() }
        }
        return await running.finish()
    }
}

/// A `tokenledger` process that was started and not yet waited for.
struct RunningCLI: @unchecked Sendable {
    // @unchecked Sendable: Process and Pipe are used by one waiter at a time (`finish`).
    let process: Process
    let out: Pipe
    let err: Pipe

    /// Reads its output to the end and waits for it to exit, on a dispatch thread so that no
    /// cooperative thread blocks while the child runs (timing tests run beside these).
    func finish() async -> CLIResult {
        let (process, out, err) = (self.process, self.out, self.err)
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let outData = out.fileHandleForReading.readDataToEndOfFile()
                let errData = err.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(
                    returning: CLIResult(
                        status: process.terminationStatus,
                        stdout: String(decoding: outData, as: UTF8.self),
                        stderr: String(decoding: errData, as: UTF8.self)))
            }
        }
    }
}

/// Decodes one line of JSON output into a dictionary (tests only).
func jsonObject(_ text: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try #require(object as? [String: Any], "not a JSON object: \(text)")
}

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

    /// Runs `tokenledger arguments…` with the environment (merged over a clean one) and optional stdin.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil
    ) async throws -> CLIResult {
        try await start(arguments, environment: environment, stdin: stdin).finish()
    }

    /// Starts `tokenledger arguments…` without waiting, so many can run at once.
    static func start(
        _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil
    ) throws -> RunningCLI {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "REDIS_URL")
        env.removeValue(forKey: "REDIS_PASSWORD")
        env.removeValue(forKey: "TOKENLEDGER_NAMESPACE")
        env.removeValue(forKey: "TOKENLEDGER_SPOOL_DIR")
        for (key, value) in environment { env[key] = value }
        process.environment = env
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

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
    ) throws -> CLIResult {
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
        // Read both pipes fully before waiting, so a large output cannot block the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLIResult(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

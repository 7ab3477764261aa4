import Foundation
import RedisTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A test process that crashes leaves its redis-server children running; the next test process
/// stops them (``RedisTestServer/reapOrphanedServers()``), and only them.
@Suite("Test servers left behind")
struct TestServerReapingTests {
    /// Starts a redis-server on a unix socket in `directory`; returns it once it answers.
    static func startServer(in directory: String) async throws -> Process {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "redis-server", "--port", "0", "--unixsocket", directory + "/s.sock", "--dir", directory, "--save", "",
            "--appendonly", "no",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        guard
            await waitUntil(
                timeout: .seconds(120),
                { FileManager.default.fileExists(atPath: directory + "/s.sock") || !process.isRunning }),
            process.isRunning
        else {
            kill(process.processIdentifier, SIGKILL)
            throw RedisTestServerError(
                message: "redis-server in \(directory) did not open its socket (running: \(process.isRunning))")
        }
        return process
    }

    @Test(
        "a server whose test process is gone is stopped and its directory removed; a live owner's server and others are left alone"
    )
    func reapsOnlyOrphans() async throws {
        let prefix = RedisTestServer.directoryPrefix
        let unique = UUID().uuidString.prefix(8)
        // A pid no process can have (above any pid_max): this server's owner is gone.
        let orphanDirectory = prefix + "2147483000-0-\(unique)"
        // Owned by this live process.
        let ownedDirectory = prefix + "\(getpid())-0-\(unique)"
        // Not a test server directory.
        let otherDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("not-ours-\(unique)").path
        defer {
            for directory in [orphanDirectory, ownedDirectory, otherDirectory] {
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        // The orphan last, reaped at once: any test process starting on this machine (another
        // checkout's, too) reaps it as well, and the shorter its life the less likely that is.
        let owned = try await Self.startServer(in: ownedDirectory)
        let other = try await Self.startServer(in: otherDirectory)
        let orphan = try await Self.startServer(in: orphanDirectory)
        defer {
            // SIGKILL: a child of the test process inherits its blocked signals, SIGTERM included.
            for process in [orphan, owned, other] where process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        #expect(orphan.isRunning && owned.isRunning && other.isRunning)

        let stopped = RedisTestServer.reapOrphanedServers()
        #expect(stopped >= 1)
        orphan.waitUntilExit()
        #expect(orphan.terminationReason == .uncaughtSignal && orphan.terminationStatus == SIGKILL)
        #expect(!FileManager.default.fileExists(atPath: orphanDirectory))
        #expect(owned.isRunning)
        #expect(other.isRunning)
    }
}

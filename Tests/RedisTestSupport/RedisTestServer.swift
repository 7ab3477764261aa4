import Foundation
import RedisClient

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway `redis-server` for integration tests: its own free port and temp directory,
/// started on demand, stopped by ``stop()`` (and by `deinit` as a backstop).
///
/// Defaults to `--save "" --appendonly no`; ``Options`` turns on AOF, a password, ACL users or a
/// unix socket. Missing `redis-server` is an error that says how to install it, never a skip.
public final class RedisTestServer: @unchecked Sendable {
    // @unchecked Sendable: mutable state (`process`) is guarded by `lock`.

    /// How to start the server.
    public struct Options: Sendable {
        /// Turn on the append-only file.
        public var appendOnly = false
        /// The AOF fsync policy when ``appendOnly`` is on (`always`, `everysec`, `no`).
        public var appendFsync = "everysec"
        /// `requirepass` for the default user.
        public var requirePassword: String?
        /// ACL users as (name, password, rules such as `~* &* +@all`).
        public var aclUsers: [(name: String, password: String, rules: String)] = []
        /// Also listen on a unix socket in the server's directory.
        public var unixSocket = false
        /// Run as a one-node Redis Cluster owning all 16,384 slots, so cross-slot commands and
        /// scripts fail with `CROSSSLOT` as they would on a real cluster.
        public var cluster = false
        /// With ``cluster``: claim every slot as a one-node cluster (the default); `false` leaves a
        /// bare node for ``RedisTestCluster`` to join with others.
        public var clusterClaimsAllSlots = true
        /// More `--name value` arguments passed as they are.
        public var extraArguments: [String] = []

        /// Default options: no persistence, no auth, TCP only.
        public init() {}
    }

    /// The TCP port the server listens on (127.0.0.1).
    public let port: Int
    /// The server's working directory (AOF, log, socket).
    public let directory: URL
    /// The options it was started with.
    public let options: Options
    private let lock = NSLock()
    private var process: ChildProcess?

    /// The unix socket path, when ``Options/unixSocket`` is on.
    public var unixSocketPath: String? {
        options.unixSocket ? directory.appendingPathComponent("redis.sock").path : nil
    }

    /// A configuration for this server over TCP, with the default user's password when one is set.
    public var configuration: RedisConfiguration {
        // Cannot fail: the values are valid by construction.
        try! RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port), password: options.requirePassword)
    }

    /// The server's log file.
    public var logFile: URL { directory.appendingPathComponent("redis.log") }

    private init(port: Int, directory: URL, options: Options) {
        self.port = port
        self.directory = directory
        self.options = options
    }

    deinit {
        stopNow()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts a server and waits until it answers PING.
    ///
    /// - Throws: ``RedisTestServerError`` when `redis-server` is missing or does not come up.
    public static func start(_ options: Options = Options()) async throws -> RedisTestServer {
        let executable = try findRedisServer()
        _ = reapedOrphans
        var lastError: (any Error)?
        for _ in 0..<3 {
            let port = try options.cluster ? freeClusterPort() : freePort()
            let directory = URL(fileURLWithPath: directoryPrefix + "\(getpid())-\(port)-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let server = RedisTestServer(port: port, directory: directory, options: options)
            server.executable = executable
            do {
                try await server.launch()
                return server
            } catch {
                lastError = error
                server.stopNow()
            }
        }
        throw lastError ?? RedisTestServerError(message: "redis-server did not start")
    }

    private var executable = ""

    private func arguments() -> [String] {
        var arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--dir", directory.path,
            "--logfile", logFile.path, "--daemonize", "no", "--save", "",
            "--appendonly", options.appendOnly ? "yes" : "no", "--appendfsync", options.appendFsync,
        ]
        if let password = options.requirePassword { arguments += ["--requirepass", password] }
        for user in options.aclUsers {
            // Each word of the ACL rule is its own argument; redis-server joins them into one directive.
            arguments +=
                ["--user", user.name, "on", ">\(user.password)"]
                + user.rules.split(separator: " ").map(String.init)
        }
        if let path = unixSocketPath { arguments += ["--unixsocket", path, "--unixsocketperm", "700"] }
        if options.cluster {
            arguments += [
                "--cluster-enabled", "yes", "--cluster-config-file",
                directory.appendingPathComponent("nodes.conf").path,
            ]
        }
        return arguments + options.extraArguments
    }

    private func launch() async throws {
        let child = try ChildProcess(executable: executable, arguments: arguments())
        lock.withLock { self.process = child }
        try await waitUntilReady(child)
        if options.cluster && options.clusterClaimsAllSlots { try await claimAllSlots() }
    }

    private func claimAllSlots() async throws {
        let connection = try await RedisConnection.connect(configuration: configuration)
        let info = try await connection.send(RedisCommand("CLUSTER", "INFO")).string ?? ""
        if !info.contains("cluster_slots_assigned:16384") {
            _ = try await connection.send(RedisCommand("CLUSTER", "ADDSLOTSRANGE", 0, 16383))
        }
        let ready = try await waitUntil {
            (try await connection.send(RedisCommand("CLUSTER", "INFO")).string ?? "").contains("cluster_state:ok")
        }
        await connection.close()
        if ready { return }
        throw RedisTestServerError(message: "the one-node cluster on port \(port) did not reach cluster_state:ok")
    }

    /// Starts `redis-cli monitor` against this server, writing every command it sees to a file.
    public func startMonitor() async throws -> RedisMonitor {
        let file = directory.appendingPathComponent("monitor-\(UUID().uuidString.prefix(8)).log")
        let cli = try RedisTestServer.findExecutable("redis-cli", package: "redis-tools")
        let child = try ChildProcess(
            executable: cli, arguments: ["-h", "127.0.0.1", "-p", String(port), "monitor"], standardOutput: file.path)
        let monitor = RedisMonitor(child: child, file: file, configuration: configuration)
        // Wait until the monitor is attached: it prints "OK" first.
        guard await waitUntil({ monitor.text().hasPrefix("OK") }) else {
            _ = try? await monitor.stop()
            throw RedisTestServerError(message: "redis-cli monitor on port \(port) did not attach")
        }
        return monitor
    }

    private func waitUntilReady(_ process: ChildProcess) async throws {
        var probe = configuration
        // Generous: on a loaded machine (the parallel pass drove the load average past 70 on two cores)
        // a server can take minutes to come up, and a probe that gives up after half a second may
        // never see an up server answer.
        probe.connectTimeout = .seconds(2)
        probe.commandTimeout = .seconds(5)
        let deadline = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < deadline {
            if let status = process.exitStatus() {
                throw RedisTestServerError(message: "redis-server exited with status \(status): \(logTail())")
            }
            do {
                let connection = try await RedisConnection.connect(configuration: probe)
                _ = try await connection.send(RedisCommand("PING"))
                await connection.close()
                return
            } catch let error as RedisError where error.code == .authenticationFailed || error.code == .server {
                return  // It answered, even if it refused this probe: it is up.
            } catch {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        throw RedisTestServerError(message: "redis-server on port \(port) did not answer within 300 s: \(logTail())")
    }

    /// The last lines of the server's log, for failure messages.
    public func logTail() -> String {
        guard let text = try? String(contentsOf: logFile, encoding: .utf8) else { return "(no log)" }
        return text.split(separator: "\n").suffix(5).joined(separator: " | ")
    }

    /// The server's process id, while it runs.
    public var pid: Int32? { lock.withLock { process?.pid } }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. Repeatable.
    /// The wait runs on a dispatch thread, not a cooperative one.
    public func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.stopNow()
                continuation.resume()
            }
        }
    }

    private func stopNow() {
        guard let process = takeProcess() else { return }
        kill(process.pid, SIGCONT)
        kill(process.pid, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(5)
        while process.exitStatus() == nil {
            if ContinuousClock.now > deadline {
                kill(process.pid, SIGKILL)
                process.waitForExit()
                return
            }
            usleep(2_000)
        }
    }

    private func takeProcess() -> ChildProcess? {
        lock.withLock {
            let process = self.process
            self.process = nil
            return process
        }
    }

    /// Sends a signal to the server process (e.g. `SIGSTOP`, `SIGCONT`, `SIGKILL`).
    public func signal(_ signal: Int32) {
        if let pid { kill(pid, signal) }
    }

    /// Kills the server with SIGKILL and waits for it to be gone (no shutdown, no final fsync).
    public func crash() {
        guard let process = takeProcess() else { return }
        kill(process.pid, SIGKILL)
        process.waitForExit()
    }

    /// Starts the server again on the same port and directory (after ``stop()`` or ``crash()``).
    public func restart() async throws {
        await stop()
        try await launch()
    }

    /// Stops, once per test process, the servers an earlier test process started and left running
    /// when it crashed (nothing else reaps them, and each holds a port and memory).
    private static let reapedOrphans: Int = reapOrphanedServers()

    /// The prefix of every test server's directory: `<prefix><owner pid>-<port>-<random>`.
    public static var directoryPrefix: String {
        FileManager.default.temporaryDirectory.appendingPathComponent("tokenledger-redis-").path
    }

    /// Kills every `redis-server` working in a test server directory (``directoryPrefix``; it
    /// changes to `--dir`, and it rewrites its command line, so that is where the directory shows)
    /// whose owner, the test process named in the directory, is gone, and removes the test server
    /// directories of owners that are gone. Servers and directories of live test processes, and
    /// everyone else's, are left alone.
    ///
    /// - Returns: How many servers it stopped.
    public static func reapOrphanedServers() -> Int {
        let prefix = directoryPrefix
        /// Whether the directory is a test server's whose owner is gone.
        func orphaned(_ directory: String) -> Bool {
            guard directory.hasPrefix(prefix), let owner = pid_t(directory.dropFirst(prefix.count).prefix { $0 != "-" })
            else {
                return false
            }
            // Alive (or not ours to signal): keep. A reused pid only keeps an orphan for longer.
            return !(owner == getpid() || kill(owner, 0) == 0 || errno == EPERM)
        }
        var stopped = 0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry),
                let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                status.split(separator: "\n").contains("Name:\tredis-server"),
                let directory = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd"),
                orphaned(directory)
            else { continue }
            if kill(pid, SIGKILL) == 0 { stopped += 1 }
        }
        let temporary = FileManager.default.temporaryDirectory.path
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] {
            let directory = temporary + "/" + name
            if orphaned(directory) { try? FileManager.default.removeItem(atPath: directory) }
        }
        return stopped
    }

    private static func findRedisServer() throws -> String {
        try findExecutable("redis-server", package: "redis-server")
    }

    static func findExecutable(_ name: String, package: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw RedisTestServerError(
            message:
                "\(name) was not found on PATH; install it with `sudo apt-get install \(package)` or run ./scripts/bootstrap"
        )
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
    private static func freePort() throws -> Int {
        let (fd, port) = try bindLoopback(port: 0)
        close(fd)
        return port
    }

    /// The highest port a cluster node may use: its cluster bus listens on port + 10,000, which
    /// must be a port too (≤ 65,535), or redis-server refuses to start ("Redis port number too high").
    public static let highestClusterPort = 55_535

    /// A free port for a cluster-enabled server: at most ``highestClusterPort``, and with its bus
    /// port (port + 10,000) free too a moment ago.
    static func freeClusterPort() throws -> Int {
        // Ports from bind(0) come from the ephemeral range (32768-60999 on Linux), a fifth of
        // which is too high; draw again until one fits.
        for _ in 0..<200 {
            let port = try freePort()
            guard port <= highestClusterPort, let (bus, _) = try? bindLoopback(port: port + 10_000) else { continue }
            close(bus)
            return port
        }
        throw RedisTestServerError(
            message: "no free port ≤ \(highestClusterPort) with a free cluster bus port (port + 10000)")
    }

    /// Binds a TCP socket to 127.0.0.1:`port` (0: any free port) without listening.
    ///
    /// - Returns: The socket and the port it is bound to.
    static func bindLoopback(port: Int) throws -> (socket: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RedisTestServerError(message: "socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let error = errno
            close(fd)
            throw RedisTestServerError(message: "bind() to port \(port) failed: errno \(error)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}

/// A TCP port on 127.0.0.1 where nothing listens, for tests of "Redis is down": connecting to it
/// is refused at once.
///
/// The port is bound and never listened on, and it stays bound until the test process exits, so
/// no server (another test's, or anyone's) can take it meanwhile; port 1, used before, may have a
/// listener on some machines.
public func closedPort() throws -> Int {
    // The socket is deliberately left open: that keeps the port reserved (and closed).
    try RedisTestServer.bindLoopback(port: 0).port
}

/// A child started with `posix_spawn` and reaped with `waitpid`, so its exit is seen at once.
final class ChildProcess: @unchecked Sendable {
    // @unchecked Sendable: `status` is guarded by `lock`; `pid` is immutable.
    let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?

    init(executable: String, arguments: [String], standardOutput: String = "/dev/null") throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // Threads of the test process block signals (and SIGPIPE is ignored process-wide); a child
        // inherits both, so give it an empty mask and default handlers, or SIGTERM would not stop it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var cArguments = argv + [nil]
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, &cArguments, environ)
        guard result == 0 else {
            throw RedisTestServerError(message: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    /// The exit status if the child has exited (reaping it), else `nil`.
    func exitStatus() -> Int32? {
        lock.withLock {
            if let status { return status }
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            return status
        }
    }

    /// Blocks until the child exits.
    func waitForExit() {
        lock.withLock {
            guard status == nil else { return }
            var raw: Int32 = 0
            if waitpid(pid, &raw, 0) == pid { status = raw }
        }
    }
}

/// A running `redis-cli monitor`; ``stop()`` ends it and returns every command it saw.
public final class RedisMonitor: Sendable {
    let child: ChildProcess
    let file: URL
    let configuration: RedisConfiguration

    init(child: ChildProcess, file: URL, configuration: RedisConfiguration) {
        self.child = child
        self.file = file
        self.configuration = configuration
    }

    /// What the monitor wrote so far.
    func text() -> String {
        (try? String(contentsOf: file, encoding: .utf8)) ?? ""
    }

    /// Stops the monitor and returns the commands it saw, each as its arguments' raw bytes.
    ///
    /// The server runs commands one at a time and the monitor prints them in that order: once it
    /// has printed a marker sent now, it has printed every command before it. The marker and what
    /// follows it are not returned.
    public func stop() async throws -> [[[UInt8]]] {
        defer {
            kill(child.pid, SIGTERM)
            child.waitForExit()
        }
        let marker = "monitor-end-\(UUID().uuidString)"
        let connection = try await RedisConnection.connect(configuration: configuration)
        _ = try await connection.send(RedisCommand("ECHO", marker))
        await connection.close()
        guard await waitUntil({ text().contains(marker) }) else {
            throw RedisTestServerError(message: "redis-cli monitor never printed its end marker")
        }
        let lines = text().split(separator: "\n").prefix { !$0.contains(marker) }
        return lines.compactMap { RedisMonitor.parse(line: Substring($0)) }
    }

    /// Parses one MONITOR line (`1700000000.1 [0 127.0.0.1:5000] "EVALSHA" "…"`), undoing
    /// redis's escapes (`\"`, `\\`, `\n`, `\r`, `\t`, `\a`, `\b`, `\xHH`).
    static func parse(line: Substring) -> [[UInt8]]? {
        guard let bracket = line.firstIndex(of: "]") else { return nil }
        let bytes = Array(line[line.index(after: bracket)...].utf8)
        var arguments: [[UInt8]] = []
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "\"") else { index += 1; continue }
            index += 1
            var current: [UInt8] = []
            while index < bytes.count && bytes[index] != UInt8(ascii: "\"") {
                if bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count {
                    let next = bytes[index + 1]
                    switch next {
                    case UInt8(ascii: "n"): current.append(0x0A); index += 2
                    case UInt8(ascii: "r"): current.append(0x0D); index += 2
                    case UInt8(ascii: "t"): current.append(0x09); index += 2
                    case UInt8(ascii: "a"): current.append(0x07); index += 2
                    case UInt8(ascii: "b"): current.append(0x08); index += 2
                    case UInt8(ascii: "x") where index + 3 < bytes.count:
                        let hex = String(decoding: bytes[(index + 2)...(index + 3)], as: UTF8.self)
                        current.append(UInt8(hex, radix: 16) ?? 0)
                        index += 4
                    default: current.append(next); index += 2
                    }
                } else {
                    current.append(bytes[index])
                    index += 1
                }
            }
            index += 1
            arguments.append(current)
        }
        return arguments.isEmpty ? nil : arguments
    }
}

/// Why a test server could not be started.
public struct RedisTestServerError: Error, CustomStringConvertible {
    /// What went wrong, and how to fix it where that is known.
    public var message: String
    /// Creates an error with a message.
    public init(message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// Runs `body` with a fresh server and always stops it afterwards, also when `body` throws.
public func withRedisServer<T>(
    _ options: RedisTestServer.Options = RedisTestServer.Options(),
    _ body: (RedisTestServer) async throws -> T
) async throws -> T {
    let server = try await RedisTestServer.start(options)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// Runs `body` against `REDIS_URL` when it is set (an external server), else a fresh private server.
///
/// Tests that use this must keep to their own keys (a unique namespace), since an external server is shared.
public func withRedis<T>(_ body: (RedisConfiguration) async throws -> T) async throws -> T {
    if let url = ProcessInfo.processInfo.environment["REDIS_URL"], !url.isEmpty {
        return try await body(try RedisConfiguration.fromEnvironment())
    }
    return try await withRedisServer { try await body($0.configuration) }
}

/// A namespace no other test uses, for keys on a shared server.
public func uniqueNamespace(_ prefix: String = "test") -> String {
    "\(prefix)-\(UUID().uuidString.prefix(12).lowercased())"
}

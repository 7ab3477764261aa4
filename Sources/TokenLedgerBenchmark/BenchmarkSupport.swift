// The benchmark's helpers: options, figures, events and CPU readings (main.swift runs it).

import Foundation
import Logging
import RedisClient
import Synchronization
import TokenLedger

struct BenchmarkFailure: Error, CustomStringConvertible { var description: String }

func option(_ name: String, default value: Int) -> Int {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count,
        let number = Int(arguments[index + 1])
    else {
        return value
    }
    return number
}

func figure(_ name: String, _ value: Double, _ unit: String, decimals: Int = 1) {
    // Written straight to the file descriptor, so each figure appears as soon as it is measured.
    FileHandle.standardOutput.write(Data("\(name) \(String(format: "%.\(decimals)f", value)) \(unit)\n".utf8))
}

func log(_ message: String) { FileHandle.standardError.write(Data(("bench: " + message + "\n").utf8)) }

func percentile(_ sorted: [Duration], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
    let (seconds, attoseconds) = sorted[max(0, index)].components
    return Double(seconds) * 1e6 + Double(attoseconds) / 1e12
}

func seconds(_ duration: Duration) -> Double {
    let (s, a) = duration.components
    return Double(s) + Double(a) / 1e18
}

/// A value behind a lock, shareable between tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}

extension Locked where Value == Int {
    /// Hands out 0, 1, 2, … to concurrent workers, each once; `nil` once `limit` is reached.
    func next(below limit: Int) -> Int? {
        withLock { value -> Int? in
            guard value < limit else { return nil }
            defer { value += 1 }
            return value
        }
    }
}

/// Event `index` of a run: deterministic, so totals can be checked.
func benchEvent(_ index: Int, users: Int, prefix: String) -> (user: String, callID: String, usage: UsageRecord) {
    ("u\(index % users)", "\(prefix)-\(index)", UsageRecord(inputTokens: index % 997 + 1, outputTokens: index % 211))
}

/// Users whose reported total is not exactly what `benchEvent` sent them in `events` events
/// (plus the warm-up's one token each), and users missing from the report: 0 when nothing was lost.
func lostUsers(_ repository: TokenRepository, events: Int, users: Int, prefix: String) async throws -> Int {
    var expected = [Int](repeating: 0, count: users)
    for index in 0..<events {
        expected[index % users] += benchEvent(index, users: users, prefix: prefix).usage.totalTokens
    }
    let report = try await repository.report(top: nil)
    var lost = 0
    var seen = Set<String>()
    for row in report.users {
        seen.insert(row.user)
        guard let user = Int(row.user.dropFirst()), user < users else { continue }
        if row.totalTokens != expected[user] + 1 { lost += 1 }
    }
    return lost + users - seen.count
}

/// The CPU time the Redis server has used so far (user + system seconds, from `INFO cpu`).
func redisCPUSeconds(_ pool: RedisConnectionPool) async throws -> Double {
    let info = try await pool.send(INFO("cpu"))
    let total = ["used_cpu_sys", "used_cpu_user"].compactMap { info[$0].flatMap(Double.init) }.reduce(0, +)
    guard total > 0 else { throw BenchmarkFailure(description: "INFO cpu has no used_cpu_sys/used_cpu_user") }
    return total
}

/// The CPU time this process has used so far (user + system seconds).
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Runs `redis-benchmark` with the record script and returns (requests/s, p50 µs).
func redisBenchmark(
    configuration: RedisConfiguration, sha: String, keys: [String], arguments: [String], clients: Int, pipeline: Int,
    requests: Int
) throws -> (rps: Double, p50: Double) {
    var command = ["redis-benchmark"]
    switch configuration.endpoint {
    case .tcp(let host, let port): command += ["-h", host, "-p", String(port)]
    case .unix(let path): command += ["-s", path]
    }
    if let password = configuration.password { command += ["-a", password] }
    if let user = configuration.username { command += ["--user", user] }
    command += [
        "-c", String(clients), "-P", String(pipeline), "-n", String(requests), "-r", "100000000", "--csv", "EVALSHA",
        sha, String(keys.count),
    ]
    command += keys + arguments
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = command
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",...
    let fields = line.components(separatedBy: "\",\"").map { $0.replacingOccurrences(of: "\"", with: "") }
    guard process.terminationStatus == 0, fields.count >= 5, let rps = Double(fields[1]), let p50 = Double(fields[4])
    else {
        throw BenchmarkFailure(description: "redis-benchmark failed: \(line)")
    }
    return (rps, p50 * 1000)
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Waits until `condition` holds, checking it every `interval`, for at most `timeout`.
///
/// For tests that need something to have happened (a task waiting, a server stopped, a counter
/// reached): the wait ends as soon as the state is observed, and the long default deadline only
/// bounds a failure, so a loaded machine makes the test slower, never wrong (180 s: beside ~700
/// other tests on a machine loaded 5× over, 60 s was once too short for a service group to start).
///
/// - Returns: Whether the condition held before the deadline (assert it).
public func waitUntil(
    timeout: Duration = .seconds(180), interval: Duration = .milliseconds(5),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: interval)
    }
}

/// The scheduler state of a process or one of its threads, from `/proc/<pid>[/task/<tid>]/stat`:
/// `R` running, `S` sleeping (blocked in the kernel, e.g. on a lock or socket), `T` stopped
/// (SIGSTOP), `Z` zombie; `nil` when it is gone.
public func processState(pid: Int32, thread: Int32? = nil) -> Character? {
    let path = thread.map { "/proc/\(pid)/task/\($0)/stat" } ?? "/proc/\(pid)/stat"
    guard let text = try? String(contentsOfFile: path, encoding: .utf8),
        let close = text.lastIndex(of: ")")
    else { return nil }
    // "pid (comm) S …": the state follows the command name, which may itself hold ") ".
    return text[text.index(after: close)...].first { $0 != " " }
}

/// The kernel's id of the calling thread (its `/proc/<pid>/task/<tid>`), for
/// ``processState(pid:thread:)``; `nil` if `/proc` does not say.
public func currentThreadID() -> Int32? {
    // /proc/thread-self links to "<pid>/task/<tid>" of whichever thread reads it.
    guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self") else { return nil }
    return link.split(separator: "/").last.flatMap { Int32($0) }
}

extension RedisTestServer {
    /// Sends SIGSTOP and returns once the server is stopped (not merely signalled).
    ///
    /// - Throws: When it does not stop within a minute.
    public func pause() async throws {
        signal(SIGSTOP)
        guard let pid, await waitUntil({ processState(pid: pid) == "T" }) else {
            throw RedisTestServerError(message: "redis-server on port \(port) did not stop after SIGSTOP")
        }
    }

    /// Sends SIGCONT (after ``pause()``).
    public func resume() {
        signal(SIGCONT)
    }

    /// A backstop for tests of "returns while Redis is stopped": resumes the server after
    /// `timeout` unless the returned task is cancelled first, so that code which waits for the
    /// server fails the test (the server answers after all) instead of hanging it.
    public func resume(after timeout: Duration) -> Task<Void, Never> {
        Task {
            do {
                try await Task.sleep(for: timeout)
                resume()
            } catch {}  // cancelled: the test resumes the server itself
        }
    }
}

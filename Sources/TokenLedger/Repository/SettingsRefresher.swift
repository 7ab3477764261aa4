import Synchronization

/// Hands stale-settings refreshes from the hot path (which never waits, and may run on a pipeline
/// lane thread) to a loop that a running ``UsageRecorder`` owns as a child task of its `run()`,
/// instead of a task nobody awaits.
///
/// While no loop is attached, nobody refreshes in the background: ``TokenRepository/cachedSettings()``
/// then gives no stale settings, so callers read them again themselves.
final class SettingsRefresher: Sendable {
    /// The attached loop's requests; `nil` while no loop is attached.
    private let requests = Mutex<AsyncStream<Void>.Continuation?>(nil)

    /// Whether a loop is attached to refresh in the background.
    var isAttached: Bool { requests.withLock { $0 != nil } }

    /// Asks the attached loop for a refresh (several requests before it gets to them make one);
    /// returns false when no loop is attached.
    func requestRefresh() -> Bool {
        requests.withLock { request in
            guard let request else { return false }
            request.yield()
            return true
        }
    }

    /// Refreshes `repository`'s settings on each request until the task is cancelled. One loop at
    /// a time: a second caller returns at once (two recorders over one repository share the first's).
    func run(for repository: TokenRepository) async {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let attaches = requests.withLock { request in
            guard request == nil else { return false }
            request = continuation
            return true
        }
        guard attaches else { return }
        defer { requests.withLock { $0 = nil } }
        // The iterator ends when the task is cancelled (an AsyncStream's iteration ends then).
        for await _ in stream {
            _ = try? await repository.settings(fresh: true)
            _ = try? await repository.priceTable(fresh: true)
        }
    }
}

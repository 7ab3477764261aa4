import Synchronization

/// Lets one fire-and-forget record reload a script the server lost (`SCRIPT FLUSH`, a restart
/// without persistence) while the others that met `NOSCRIPT` at the same time wait for it, then go
/// back to the pipeline: a flush costs one extra round trip, not a pooled call per record.
final class ScriptReloadGate: Sendable {
    /// What a record that met `NOSCRIPT` does.
    enum Turn {
        /// Send it through the pool, which loads the script, then call ``finish()``.
        case load
        /// A reload finished after the `NOSCRIPT` was seen: send it on the pipeline again.
        case loaded
        /// Another record is reloading: wait for it, then send it on the pipeline again.
        case wait
    }

    private struct State {
        var loading = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var lastLoaded: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    /// The turn of a record whose reply was `NOSCRIPT`, seen at `seen`; with ``Turn/wait`` it
    /// returns once the reload finished.
    func enter(seen: ContinuousClock.Instant) async -> Turn {
        let turn = state.withLock { state -> Turn in
            if state.loading { return .wait }
            if let last = state.lastLoaded, last > seen { return .loaded }
            state.loading = true
            return .load
        }
        guard turn == .wait else { return turn }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiting = state.withLock { state -> Bool in
                guard state.loading else { return false }
                state.waiters.append(continuation)
                return true
            }
            if !waiting { continuation.resume() }
        }
        return .wait
    }

    /// Ends a reload (successful or not): the waiting records go on.
    func finish() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.loading = false
            state.lastLoaded = .now
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

import Dispatch
import Foundation

/// Appends events to an ``EventSpool`` on a thread of its own, with one write and one fsync for
/// all the events that arrived while the previous fsync ran (group commit).
///
/// Events are spooled when Redis is slow or down, which is when many records spool at once: each
/// fsync takes ~0.2 ms on a quiet disk and much longer on a busy one. Run on the caller's thread,
/// every fsync held one of Swift's few cooperative threads (two on a 2-core machine), stalling the
/// process's other tasks, their deadlines included; one after another, they also added up.
///
/// ### Threading
/// `Sendable`. Appends from any thread; the spool is written on one serial dispatch queue, where
/// completions run.
final class SpoolWriter: Sendable {
    typealias Completion = @Sendable (Result<Void, SpoolError>) -> Void

    /// Events waiting for the writer, behind `condition`.
    private final class Pending: @unchecked Sendable {
        // Only touched with `condition` locked (see SpoolWriter), which makes it safe to share.
        let condition = NSCondition()
        var events: [SpooledEvent] = []
        var completions: [Completion] = []
        /// Whether a drain is queued or running (it runs until nothing is pending).
        var draining = false
    }

    /// The spool written to.
    let spool: EventSpool
    /// Appends that may wait (``append(_:waitingForRoom:completion:)``) wait while this many events
    /// are pending.
    let maximumPending: Int
    private let queue: DispatchQueue
    private let pending = Pending()

    /// Creates a writer. `queue` must be serial; tests pass one they can suspend.
    init(
        spool: EventSpool, maximumPending: Int = 4096,
        queue: DispatchQueue = DispatchQueue(label: "tokenledger.spool-writer")
    ) {
        self.spool = spool
        self.maximumPending = maximumPending
        self.queue = queue
    }

    /// Appends one event; `completion` runs on the writer's queue once it is fsync'd (or refused).
    ///
    /// With `waitingForRoom`, the calling thread first waits while ``maximumPending`` events are
    /// pending: the back-pressure for callers on threads of their own (pipeline lanes), which must
    /// not queue without bound while the disk is slow. Never set it on Swift's cooperative pool.
    func append(_ event: SpooledEvent, waitingForRoom: Bool = false, completion: @escaping Completion) {
        pending.condition.lock()
        defer { pending.condition.unlock() }
        while waitingForRoom && pending.events.count >= maximumPending { pending.condition.wait() }
        pending.events.append(event)
        pending.completions.append(completion)
        if !pending.draining {
            pending.draining = true
            // Queued under the lock, so a later waitUntilWritten() is queued after this drain.
            queue.async { self.drain() }
        }
    }

    /// Returns once every event appended before the call is written (or refused).
    func waitUntilWritten() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            // The queue is serial, a drain is queued (under the lock) no later than the first of the
            // events it writes, and it runs until nothing is pending: a block queued now runs after
            // the events appended so far are handled.
            queue.async { continuation.resume() }
        }
    }

    private func drain() {
        while true {
            pending.condition.lock()
            let events = pending.events
            let completions = pending.completions
            pending.events = []
            pending.completions = []
            if events.isEmpty { pending.draining = false }
            pending.condition.broadcast()
            pending.condition.unlock()
            if events.isEmpty { return }
            do throws(SpoolError) {
                try spool.append(events)
                for completion in completions { completion(.success(())) }
            } catch {
                // A refused group: nothing written (the size bound), or the segment was closed after
                // a failed write (I/O). Try each event alone, so those that fit are kept and each
                // caller hears its own outcome.
                guard events.count > 1 else {
                    completions[0](.failure(error))
                    continue
                }
                for (event, completion) in zip(events, completions) {
                    do throws(SpoolError) {
                        try spool.append(event)
                        completion(.success(()))
                    } catch {
                        completion(.failure(error))
                    }
                }
            }
        }
    }
}

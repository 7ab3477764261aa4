import Dispatch
import Synchronization

/// Appends events to an ``EventSpool`` on a thread of its own, with one write and one fsync for
/// all the events that arrived while the previous fsync ran (group commit).
///
/// Events are spooled when Redis is slow or down, which is when many records spool at once: each
/// fsync takes ~0.2 ms on a quiet disk and much longer on a busy one. Run on the caller's thread,
/// every fsync held one of Swift's few cooperative threads (two on a 2-core machine), stalling the
/// process's other tasks, their deadlines included; one after another, they also added up.
///
/// ### Threading
/// `Sendable`. Appends from any thread; the spool is written on one serial dispatch queue.
final class SpoolWriter: Sendable {
    typealias Completion = @Sendable (Result<Void, SpoolError>) -> Void

    private struct Pending {
        var events: [SpooledEvent] = []
        var completions: [Completion] = []
        /// Whether a drain is queued or running (it runs until nothing is pending).
        var draining = false
    }

    /// The spool written to.
    let spool: EventSpool
    private let queue = DispatchQueue(label: "tokenledger.spool-writer")
    private let pending = Mutex(Pending())

    init(spool: EventSpool) {
        self.spool = spool
    }

    /// Appends one event; `completion` runs on the writer's queue once it is fsync'd (or refused).
    func append(_ event: SpooledEvent, completion: @escaping Completion) {
        let startDrain = pending.withLock { pending -> Bool in
            pending.events.append(event)
            pending.completions.append(completion)
            if pending.draining { return false }
            pending.draining = true
            return true
        }
        if startDrain { queue.async { self.drain() } }
    }

    /// Returns once every event appended before the call is written (or refused).
    func waitUntilWritten() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            // The queue is serial and a drain runs until nothing is pending, so a block queued
            // now runs after the events appended so far are handled.
            queue.async { continuation.resume() }
        }
    }

    private func drain() {
        while true {
            let (events, completions) = pending.withLock { pending -> ([SpooledEvent], [Completion]) in
                let taken = (pending.events, pending.completions)
                pending.events = []
                pending.completions = []
                if taken.0.isEmpty { pending.draining = false }
                return taken
            }
            if events.isEmpty { return }
            do throws(SpoolError) {
                try spool.append(events)
                for completion in completions { completion(.success(())) }
            } catch {
                // A refused group (the size bound, an I/O error) is nothing written: try each event
                // alone, so those that fit are kept and each caller hears its own outcome.
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

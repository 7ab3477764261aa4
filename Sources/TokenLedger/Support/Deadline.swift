import Synchronization

/// How an operation run against a deadline ended.
package enum DeadlineOutcome<T: Sendable>: Sendable {
    case value(T)
    case error(any Error)
    case timedOut
}

/// Runs `operation` in a task of its own and waits at most `timeout` for it. On timeout the task is
/// cancelled and abandoned (it may still finish later).
///
/// That task is the one unstructured task here, on purpose: the promise is to return within
/// `timeout` whatever the operation does, and a task that is awaited cannot keep it (a handler
/// blocking its thread, or a Redis round trip stuck in hiredis, does not see cancellation). Inside
/// it the operation and its timer are child tasks racing each other: the first to end decides the
/// outcome and cancels the other, so the task ends with its operation and leaves no timer behind.
/// The caller's cancellation does not reach the operation (as before: it still returns within
/// `timeout`).
///
/// `package`: the service bounds its API key lookup with it (TokenLedgerService).
///
/// - Parameter executor: Where the operation runs (default: the global concurrent executor).
package func withDeadline<T: Sendable>(
    _ timeout: Duration, executor: (any TaskExecutor)? = nil, _ operation: @escaping @Sendable () async throws -> T
) async -> DeadlineOutcome<T> {
    let outcome = DeadlineResult<DeadlineOutcome<T>>()
    // Clamped to 0…1 day (a public option feeds it), so Task.sleep cannot overflow.
    let timeout = min(max(timeout, .zero), Validation.maximumTimeout)
    // Abandoned on timeout (see above); its children inherit the executor preference.
    Task(executorPreference: executor) {
        await withTaskGroup(of: Bool.self) { race in
            race.addTask {
                do {
                    outcome.resume(.value(try await operation()))
                } catch {
                    outcome.resume(.error(error))
                }
                return true
            }
            race.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            if await race.next() == false { outcome.resume(.timedOut) }
            race.cancelAll()  // the operation on timeout, else the timer
        }
    }
    return await outcome.value
}

/// The first outcome of a race, delivered to one waiter: whichever of the racing parties resumes
/// first wins, and ``value`` returns it (at once when it is already there).
final class DeadlineResult<T: Sendable>: Sendable {
    private enum State {
        case pending
        case waiting(CheckedContinuation<T, Never>)
        case done(T)
    }

    private let state = Mutex(State.pending)

    /// Delivers `value` if nobody did yet; returns whether this call did.
    @discardableResult
    func resume(_ value: T) -> Bool {
        let (won, waiter) = state.withLock { state -> (Bool, CheckedContinuation<T, Never>?) in
            switch state {
            case .pending:
                state = .done(value)
                return (true, nil)
            case .waiting(let continuation):
                state = .done(value)
                return (true, continuation)
            case .done:
                return (false, nil)
            }
        }
        waiter?.resume(returning: value)
        return won
    }

    /// The first value delivered; waits for it. One waiter only.
    var value: T {
        get async {
            await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
                let ready = state.withLock { state -> T? in
                    if case .done(let value) = state { return value }
                    state = .waiting(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}

import Dispatch
import Synchronization

/// How an operation run against a deadline ended.
enum DeadlineOutcome<T: Sendable>: Sendable {
    case value(T)
    case error(any Error)
    case timedOut
}

/// Runs `operation` in a task of its own and waits at most `timeout` for it. On timeout the task is
/// cancelled and abandoned (it may still finish later). The timer runs on dispatch, so it fires even
/// when every cooperative thread is busy.
///
/// - Parameter executor: Where the operation runs (default: the global concurrent executor).
func withDeadline<T: Sendable>(
    _ timeout: Duration, executor: (any TaskExecutor)? = nil, _ operation: @escaping @Sendable () async throws -> T
) async -> DeadlineOutcome<T> {
    await withCheckedContinuation { (continuation: CheckedContinuation<DeadlineOutcome<T>, Never>) in
        let once = ResumeOnce(continuation)
        let work = Task(executorPreference: executor) {
            do {
                once.resume(.value(try await operation()))
            } catch {
                once.resume(.error(error))
            }
        }
        // Clamped to 0…1 day (a public option feeds it), so the nanoseconds cannot overflow.
        let (seconds, attoseconds) = min(max(timeout, .zero), Validation.maximumTimeout).components
        let nanoseconds = max(0, Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) {
            if once.resume(.timedOut) { work.cancel() }
        }
    }
}

/// Resumes a continuation exactly once, whichever of several racing parties gets there first.
final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, Never>?>

    init(_ continuation: CheckedContinuation<T, Never>) {
        self.continuation = Mutex(continuation)
    }

    /// Resumes with `value` if nobody did yet; returns whether this call did.
    @discardableResult
    func resume(_ value: T) -> Bool {
        guard let continuation = continuation.withLock({ stored in
            defer { stored = nil }
            return stored
        }) else { return false }
        continuation.resume(returning: value)
        return true
    }
}

import Foundation
import RedisClient
import Synchronization

// TokenRepository: which cycle a call lands in (the user's policy, its carries) and the retry when the stored policy changed.
extension TokenRepository {
    /// The cycle a write for `user` goes to now, and the policy assumed for it (`*` for an explicit cycle).
    func resolveCycle(user: String, explicit: CalendarDate?, at instant: Date, settings: Settings) throws -> (
        BillingCycle, String
    ) {
        try resolveCycle(scope: .user(user), explicit: explicit, at: instant, settings: settings)
    }

    /// ``resolveCycle(user:explicit:at:settings:)`` for any scope (a group's policy is its own).
    func resolveCycle(scope: LedgerScope, explicit: CalendarDate?, at instant: Date, settings: Settings) throws -> (
        BillingCycle, String
    ) {
        let hint = policyHints.withLock { $0[scope.cacheKey] } ?? ""
        let policy = try Self.policy(stored: hint, user: scope.argument, settings: settings)
        if let explicit {
            let target = policy.cycle(startingOn: explicit)
            try Self.checkDateRange(target)
            return (target, "*")
        }
        // Most writes fall in the cycle the previous write of the same policy fell in.
        if let cached = currentCycles.withLock({ $0[policy] }), cached.contains(instant) { return (cached, hint) }
        let target = policy.cycle(containing: instant)
        try Self.checkDateRange(target)
        currentCycles.withLock { cycles in
            if cycles.count > 1000 { cycles.removeAll(keepingCapacity: true) }
            cycles[policy] = target
        }
        return (target, hint)
    }

    /// The cycle a user's write is booked to in one of the user's groups, and the policy assumed for
    /// it. With an explicit cycle (`explicit`, the user's cycle start), a group with a policy of its
    /// own gets its own cycle that contains that date, so it keeps its own cycles and never gets one
    /// that starts on the user's boundary; a group that follows the namespace default gets the
    /// user's cycle, as its users do. Either way the group's policy is assumed (never `*`), so the
    /// script checks it and a stale one is retried. Without an explicit cycle: as
    /// ``resolveCycle(scope:explicit:at:settings:)``.
    func resolveGroupCycle(scope: LedgerScope, explicit: CalendarDate?, at instant: Date, settings: Settings) throws
        -> (BillingCycle, String)
    {
        guard let explicit else {
            return try resolveCycle(scope: scope, explicit: nil, at: instant, settings: settings)
        }
        let hint = policyHints.withLock { $0[scope.cacheKey] } ?? ""
        let policy = try Self.policy(stored: hint, user: scope.argument, settings: settings)
        let target = hint.isEmpty ? policy.cycle(startingOn: explicit) : policy.cycle(containing: explicit)
        try Self.checkDateRange(target)
        return (target, hint)
    }

    /// Remembers the stored policy a script reported, so the next write computes the right cycle.
    func notePolicy(user: String, stored: String) { notePolicy(scope: .user(user), stored: stored) }

    /// ``notePolicy(user:stored:)`` for any scope.
    func notePolicy(scope: LedgerScope, stored: String) {
        policyHints.withLock { hints in
            if hints.count > 100_000 { hints.removeAll(keepingCapacity: true) }
            hints[scope.cacheKey] = stored
        }
    }

    /// What one attempt of a cycle-dependent script produced.
    enum Attempt<T: Sendable>: Sendable {
        case done(T)
        /// The stored policy differed from the assumed one; here is the stored one.
        case retry(String)
    }

    /// Runs `body` with the cycle computed from the user's policy (or the explicit cycle), and again
    /// with the stored policy when the script reports that the assumed one was stale.
    func withCycle<T>(
        user: String, explicit: CalendarDate?, at instant: Date, settings: Settings,
        _ body: (BillingCycle, String) async throws -> Attempt<T>
    ) async throws -> T {
        try await withCycle(scope: .user(user), explicit: explicit, at: instant, settings: settings, body)
    }

    /// ``withCycle(user:explicit:at:settings:_:)`` for any scope.
    func withCycle<T>(
        scope: LedgerScope, explicit: CalendarDate?, at instant: Date, settings: Settings,
        _ body: (BillingCycle, String) async throws -> Attempt<T>
    ) async throws -> T {
        try await retryingStalePolicy(scope: scope) {
            let (target, assumed) = try resolveCycle(scope: scope, explicit: explicit, at: instant, settings: settings)
            return try await body(target, assumed)
        }
    }

    /// Runs `attempt` until it is done, remembering the stored policy each stale attempt reported
    /// (so the next attempt computes the right cycle); gives up after four attempts.
    func retryingStalePolicy<T>(user: String, _ attempt: () async throws -> Attempt<T>) async throws -> T {
        try await retryingStalePolicy(scope: .user(user), attempt)
    }

    /// ``retryingStalePolicy(user:_:)`` for any scope.
    func retryingStalePolicy<T>(scope: LedgerScope, _ attempt: () async throws -> Attempt<T>) async throws -> T {
        for _ in 0..<4 {
            switch try await attempt() {
            case .done(let value):
                return value
            case .retry(let stored):
                notePolicy(scope: scope, stored: stored)
            }
        }
        let name = if case .user(let user) = scope { "user '\(user)'" } else { "scope '\(scope)'" }
        throw LedgerError(code: .policyChanged, message: "the cycle policy of \(name) kept changing; try again")
    }

    /// Refuses a cycle that starts or ends outside the dates TokenLedger accepts (0001-01-01 …
    /// 9999-12-31), so no date it prints is one it would refuse (`cycle_end` is exclusive: the
    /// cycle of 9999-12-31 would end on 10000-01-01).
    static func checkDateRange(_ cycle: BillingCycle) throws(ValidationError) {
        if cycle.start.year >= 1 && cycle.end.year <= 9999 { return }
        throw ValidationError(
            code: .invalidCycle, field: "cycle",
            message:
                "the cycle starting \(cycle.start) would end after 9999-12-31, outside the dates TokenLedger accepts "
                + "(0001-01-01 to 9999-12-31); use an earlier date")
    }

    static func encodePolicy(_ policy: BillingCyclePolicy) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(policy), as: UTF8.self)
    }

    /// The policy a user's stored `policy` field gives (the default when the user has none).
    static func policy(stored: String, user: String, settings: Settings) throws -> BillingCyclePolicy {
        if stored.isEmpty { return settings.defaultPolicy }
        if !stored.contains("\"carry\"") { return try decodePolicy(stored, user: user) }  // the common case
        return try StoredPolicy.decode(stored, user: user).policy ?? settings.defaultPolicy
    }

    /// The cycles of previous policies that count against the limit of a check in `target` at
    /// `instant`, from the stored policy the script will verify (`assumed`).
    func carriedCycleKeys(user: String, assumed: String, target: CalendarDate, at instant: Date) throws -> [String] {
        try carriedCycleKeys(scope: .user(user), assumed: assumed, target: target, at: instant)
    }

    /// ``carriedCycleKeys(user:assumed:target:at:)`` for any scope.
    func carriedCycleKeys(scope: LedgerScope, assumed: String, target: CalendarDate, at instant: Date) throws
        -> [String]
    {
        guard assumed.contains("\"carry\"") else { return [] }
        let scopeKeys = try keys.scope(scope)
        return try StoredPolicy.decode(assumed, user: scope.argument).activeCarries(at: instant, target: target).map(
            scopeKeys.cycle)
    }

    static func decodePolicy(_ text: String, user: String?) throws -> BillingCyclePolicy {
        do {
            return try JSONDecoder().decode(BillingCyclePolicy.self, from: Data(text.utf8))
        } catch {
            let owner = user.map { "user '\($0)'" } ?? "the default"
            throw LedgerError(code: .corruptData, message: "the stored cycle policy of \(owner) is not valid: \(text)")
        }
    }
}

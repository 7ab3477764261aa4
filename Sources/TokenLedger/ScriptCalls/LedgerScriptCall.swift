import RedisClient

/// One call of a TokenLedger Lua script, as postgres-nio's `PreparedStatement` is one query: the
/// script it runs, its typed keys and arguments, and its reply decoded in one place.
///
/// Error replies and the shared statuses are decoded by ``ScriptReply`` before ``read(_:)`` sees
/// the reply, so no caller compares a status string or a server error code.
protocol LedgerScriptCall: Sendable {
    /// What the reply decodes to.
    associatedtype Reply: Sendable

    /// The script's file.
    var script: ScriptName { get }
    /// How the script's `BADINPUT` is reported (default: an invalid token count in `usage`).
    static var badInput: ScriptReply.BadInput { get }
    /// The keys (`KEYS`), all in one hash slot.
    var keys: [any RedisArgumentConvertible] { get }
    /// The arguments (`ARGV`).
    var arguments: [any RedisArgumentConvertible] { get }
    /// Whose data the call touches, for messages (`nil`: namespace-wide).
    var subject: String? { get }
    /// Reads a reply that is not an error.
    func read(_ reply: RedisReply) throws -> Reply
}

extension LedgerScriptCall {
    static var badInput: ScriptReply.BadInput { ScriptReply.BadInput(code: .invalidTokenCount, field: "usage") }

    var subject: String? { nil }

    /// The reply decoded: an error reply thrown as what it means (``ScriptReply/checked(_:subject:badInput:)``),
    /// anything else read by ``read(_:)``.
    func decode(_ reply: RedisReply) throws -> Reply {
        try read(ScriptReply.checked(reply, subject: subject, badInput: Self.badInput))
    }

    /// The `EVALSHA` call of this script with these keys and arguments.
    func call(_ scripts: ScriptRegistry) -> RedisScriptCall {
        RedisScriptCall(scripts[script], keys: keys, arguments: arguments)
    }
}

extension LedgerKeys.User {
    /// The lease keys every script that reads or changes reservations takes, in this order:
    /// `leases`, `lease-expiry`, `reserved`.
    var leaseKeys: [any RedisArgumentConvertible] { [leases, leaseExpiry, reserved] }

    /// The keys of the leases' cost, in this order: `lease-usd`, `reserved-usd` (after the other keys
    /// of the scripts that reserve, release, settle or read reservations).
    var costKeys: [any RedisArgumentConvertible] { [leaseCosts, reservedCost] }

    /// The keys of a snapshot of a cycle (check, usage, close): the profile, the cycle's counters
    /// and the lease keys.
    func snapshotKeys(_ cycle: CalendarDate) -> [any RedisArgumentConvertible] {
        [profile, self.cycle(cycle)] + leaseKeys
    }
}

extension TokenRepository {
    /// Runs one script call and decodes its reply.
    func run<Call: LedgerScriptCall>(_ call: Call) async throws -> Call.Reply {
        try call.decode(try await pool.evaluateMany([call.call(scripts)])[0])
    }

    /// Runs calls of one script in one pipeline; each reply decoded on its own.
    func runEach<Call: LedgerScriptCall>(_ calls: [Call]) async throws -> [Result<Call.Reply, any Error>] {
        if calls.isEmpty { return [] }
        let replies = try await pool.evaluateMany(calls.map { $0.call(scripts) })
        return zip(calls, replies).map { call, reply in Result { try call.decode(reply) } }
    }

    /// Runs calls of one script in one pipeline; throws the first failure (in call order).
    func runAll<Call: LedgerScriptCall>(_ calls: [Call]) async throws -> [Call.Reply] {
        try await runEach(calls).map { try $0.get() }
    }
}

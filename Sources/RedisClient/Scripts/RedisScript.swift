/// A Lua script, identified by the SHA-1 of its source, run with `EVALSHA` and loaded on demand.
///
/// ``RedisConnection/evaluate(_:keys:arguments:)`` sends `EVALSHA`; when the server answers
/// `NOSCRIPT` (first use, `SCRIPT FLUSH`, a restart) it loads the script and runs it again.
public struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String
    /// The lower-case hex SHA-1 of the source, as Redis computes it.
    public let sha1: String

    /// Creates a script from its Lua source.
    public init(source: String) {
        self.source = source
        self.sha1 = SHA1.hexDigest(of: Array(source.utf8))
    }

    /// The `EVALSHA` command for this script.
    public func evalSHACommand(
        keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible]
    ) -> RedisCommand {
        var command = RedisCommand("EVALSHA")
        // Room for typical keys and arguments, so the buffer does not grow while they are appended.
        command.reserveCapacity(64 + (keys.count + arguments.count) * 40)
        command.append(sha1)
        command.append(keys.count)
        for key in keys { command.append(key) }
        for argument in arguments { command.append(argument) }
        return command
    }
}

extension RedisConnection {
    /// Runs a script with `EVALSHA`, loading it first when the server does not have it.
    ///
    /// - Throws: ``RedisError``; a script error reply is thrown as a ``RedisError/Code/server`` error.
    public func evaluate(
        _ script: RedisScript, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible]
    ) async throws -> RedisReply {
        try await evaluateBatch(script, calls: [(keys, arguments)])[0].throwingError()
    }

    /// Runs a script many times in one pipeline, loading it once if any call answers `NOSCRIPT`.
    ///
    /// - Returns: One reply per call, in order; a call that failed has an ``RedisReply/error(_:)``.
    public func evaluateBatch(
        _ script: RedisScript,
        calls: [(keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible])]
    ) async throws -> [RedisReply] {
        try await evaluateMany(calls.map { RedisScriptCall(script, keys: $0.keys, arguments: $0.arguments) })
    }

    /// Runs calls of possibly different scripts in one pipeline. Scripts the server does not have
    /// (`NOSCRIPT`) are loaded, and just those calls are sent again; a NOSCRIPT call never ran, so
    /// nothing is applied twice.
    ///
    /// - Throws: ``RedisError``; ``RedisError/Code/scriptNotLoaded`` when a script is missing and the
    ///   user may not `SCRIPT LOAD` it (an administrator must load it).
    ///
    /// - Returns: One reply per call, in order; a call that failed has an ``RedisReply/error(_:)``.
    public func evaluateMany(_ calls: [RedisScriptCall]) async throws -> [RedisReply] {
        try await pipelineLoadingScripts(calls.map(\.command), scripts: calls.map(\.script), asking: false)
    }

    /// Loads a script (`SCRIPT LOAD`) and checks the digest the server returns.
    ///
    /// - Throws: ``RedisError``; ``RedisError/Code/scriptNotLoaded`` when the user may not load it.
    func load(_ script: RedisScript) async throws {
        let load: RedisReply
        do {
            load = try await send(RedisCommand("SCRIPT", "LOAD", script.source))
        } catch let error as RedisError where error.isPermissionDenied {
            // A least-privilege user runs loaded scripts but may not load one: say who must.
            throw RedisError(
                code: .scriptNotLoaded,
                message:
                    "the server does not have the script \(script.sha1) loaded and this user may not load it (\(error.serverCode ?? "NOPERM")); an administrator must load the scripts",
                serverCode: "NOSCRIPT", command: "SCRIPT LOAD", underlying: error)
        }
        guard load.string == script.sha1 else {
            throw RedisError(
                code: .protocolError,
                message: "SCRIPT LOAD returned \(load.string ?? "no digest"), expected \(script.sha1)")
        }
    }
}

/// One call of a script: the script, its keys and its arguments.
public struct RedisScriptCall: Sendable {
    /// The script to run.
    public var script: RedisScript
    /// The keys (`KEYS` in Lua).
    public var keys: [any RedisArgumentConvertible]
    /// The arguments (`ARGV` in Lua).
    public var arguments: [any RedisArgumentConvertible]

    /// Creates a call.
    public init(_ script: RedisScript, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible])
    {
        self.script = script
        self.keys = keys
        self.arguments = arguments
    }

    /// The `EVALSHA` command for this call.
    public var command: RedisCommand { script.evalSHACommand(keys: keys, arguments: arguments) }
}

// A command as the cluster router sends it: its wire form, its slot, whether it only reads, and
// the script to load when the node answers NOSCRIPT.

/// One command for ``RedisClusterRouter``: its wire form and what routing needs to know about it.
struct RoutedCommand: Sendable {
    /// The command in wire form.
    var command: RedisCommand
    /// The name errors show (`HMGET`, `EVALSHA`), never the arguments.
    var name: String
    /// The slot of its keys; `nil` for a keyless or untyped command (sent to the first master).
    var slot: Int?
    /// Whether it only reads: such a command may be sent again after a lost connection.
    var isReadOnly: Bool
    /// For `EVALSHA`: the script to load when the node does not have it.
    var script: RedisScript?
    /// Set when the keys are in different slots: the router throws it before sending anything
    /// (a standalone server, found so after the command was built, does not care).
    var crossSlot: RedisError?

    /// An untyped command: no slot known; it follows `MOVED`.
    init(_ command: RedisCommand) {
        self.command = command
        self.name = command.name
        self.slot = nil
        self.isReadOnly = false
        self.script = nil
        self.crossSlot = nil
    }

    /// A typed command, routed by its keys' slot.
    ///
    /// Keys in different slots set ``crossSlot``.
    init<Command: RedisCommandRepresentable>(typed: Command) {
        self.command = typed.command
        self.name = Command.name
        (self.slot, self.crossSlot) = Self.slot(of: typed.keys.lazy.map(\.bytes), command: Command.name)
        self.isReadOnly = typed.isReadOnly
        self.script = nil
    }

    /// A script call, routed by its keys' slot (the keys' ``RedisArgumentConvertible/redisArgument`` bytes).
    ///
    /// Keys in different slots set ``crossSlot``.
    init(_ call: RedisScriptCall) {
        self.command = call.command
        self.name = "EVALSHA"
        (self.slot, self.crossSlot) = Self.slot(of: call.keys.lazy.map(\.redisArgument), command: "EVALSHA")
        self.isReadOnly = false
        self.script = call.script
    }

    /// The one slot of `keys` (`nil` for none), or the error naming two different slots.
    static func slot(of keys: some Sequence<[UInt8]>, command: String) -> (Int?, RedisError?) {
        var slot: Int?
        for key in keys {
            let keySlot = HashSlot.slot(for: key)
            if let slot, slot != keySlot {
                return (slot, RedisError.crossSlot(command: command, slots: (slot, keySlot)))
            }
            slot = keySlot
        }
        return (slot, nil)
    }
}

extension RedisError {
    /// The keys of one command hash to different cluster slots: Redis would refuse it (`CROSSSLOT`).
    static func crossSlot(command: String, slots: (Int, Int)) -> RedisError {
        RedisError(
            code: .crossSlot,
            message:
                "\(command) touches keys in different Redis Cluster slots (\(slots.0) and \(slots.1)); the keys of one command or script must share a hash tag",
            command: command)
    }
}

extension RedisConnection {
    /// Sends commands in one pipeline; a command that answers `NOSCRIPT` and has a script is sent
    /// again once the script is loaded (a NOSCRIPT call never ran). With `asking`, each command is
    /// preceded by `ASKING` (a cluster's `ASK` redirection), whose replies are dropped.
    ///
    /// - Returns: One reply per command, in order.
    /// - Throws: ``RedisError`` when the transport fails, or ``RedisError/Code/scriptNotLoaded`` when
    ///   the user may not load a missing script.
    func pipelineLoadingScripts(
        _ commands: [RedisCommand], scripts: [RedisScript?], asking: Bool
    ) async throws -> [RedisReply] {
        var replies = try await pipeline(commands, asking: asking)
        let missing = replies.indices.filter { index in
            if scripts[index] != nil, case .error(let error) = replies[index], error.serverCode == "NOSCRIPT" {
                return true
            }
            return false
        }
        if missing.isEmpty { return replies }
        var loaded = Set<String>()
        for index in missing {
            guard let script = scripts[index], loaded.insert(script.sha1).inserted else { continue }
            try await load(script)
        }
        let retried = try await pipeline(missing.map { commands[$0] }, asking: asking)
        for (index, reply) in zip(missing, retried) { replies[index] = reply }
        return replies
    }

    private func pipeline(_ commands: [RedisCommand], asking: Bool) async throws -> [RedisReply] {
        guard asking else { return try await pipeline(commands) }
        let askingCommand = RedisCommand("ASKING")
        let replies = try await pipeline(commands.flatMap { [askingCommand, $0] })
        return stride(from: 1, to: replies.count, by: 2).map { replies[$0] }
    }
}

import Foundation
import RedisClient

/// The checks `tokenledger doctor` runs against a namespace, beyond connectivity.
///
/// Each check reads only (`INFO`, `GET`, `HGETALL`, `SCRIPT LOAD` of the installed scripts, which
/// changes no data; `SCRIPT EXISTS` for a user that may not load them) and reports ``Status/ok``, ``Status/warn`` (works, but an operator should look)
/// or ``Status/fail`` (TokenLedger will not work correctly).
public enum Diagnostics {
    /// How a check came out.
    public enum Status: String, Sendable, Hashable, Codable {
        /// Fine.
        case ok
        /// Works, but an operator should look.
        case warn
        /// TokenLedger will not work correctly.
        case fail
    }

    /// One check's outcome.
    public struct Check: Sendable, Hashable, Codable {
        /// The check's name: `schema`, `scripts`, `persistence`, `memory`, `rollover`, …
        public var name: String
        /// The outcome.
        public var status: Status
        /// What was found, and what to do when it is not `ok`.
        public var detail: String

        /// Creates a check result.
        public init(name: String, status: Status, detail: String) {
            self.name = name
            self.status = status
            self.detail = detail
        }
    }

    /// Runs every check.
    ///
    /// - Parameters:
    ///   - repository: The namespace and pool to check.
    ///   - now: The instant to judge the last rollover against. Default now.
    /// - Returns: The checks, in a stable order.
    /// - Throws: `RedisError` when Redis cannot be reached at all.
    public static func run(repository: TokenRepository, now: Date = Date()) async throws -> [Check] {
        var checks: [Check] = []
        checks += try await permitted("role") { [try await role(repository)] }
        checks += try await permitted("schema") { [try await schema(repository)] }
        checks += try await permitted("scripts") { [try await scripts(repository)] }
        checks += try await permitted("persistence") { try await server(repository) }
        checks += try await permitted("rollover") { [try await rollover(repository, now: now)] }
        checks += try await permitted("permissions") { try await permissions(repository) }
        checks.append(try await apiKeys(repository))
        checks.append(try await prices(repository))
        return checks
    }

    /// Schema version and pending migrations.
    static func schema(_ repository: TokenRepository) async throws -> Check {
        let status: MigrationRunner.Status
        do {
            status = try await MigrationRunner(repository: repository).status()
        } catch let error as LedgerError {
            return Check(name: "schema", status: .fail, detail: error.message)
        }
        let stored = status.schemaVersion.map(String.init) ?? "none"
        let current = status.currentSchemaVersion
        if let version = status.schemaVersion, version > current {
            return Check(
                name: "schema", status: .fail,
                detail: "schema version \(version) is newer than this build's \(current); upgrade tokenledger")
        }
        let pending = status.pending
        var detail = "schema version \(stored) (this build writes \(current))"
        if !status.unknownApplied.isEmpty {
            detail += "; applied by a newer build: \(status.unknownApplied.map(String.init).joined(separator: ", "))"
        }
        if pending.isEmpty {
            return Check(name: "schema", status: .ok, detail: detail + "; no pending migrations")
        }
        let names = status.migrations.filter { pending.contains($0.migration.version) }
            .map { "\($0.migration.version) \($0.migration.name)\($0.status == "in_progress" ? " (interrupted)" : "")" }
        return Check(
            name: "schema", status: .warn,
            detail: detail + "; pending migrations: \(names.joined(separator: ", ")) (run tokenledger migrate)")
    }

    /// Whether the server is a primary (TokenLedger writes) or a read-only replica, from
    /// `INFO replication`. A replica fails the check: every write would be refused.
    static func role(_ repository: TokenRepository) async throws -> Check {
        let replication = try await repository.pool.send(INFO("replication"))
        switch replication["role"] {
        case "slave", "replica":
            let primary = [replication["master_host"], replication["master_port"]].compactMap { $0 }.joined(
                separator: ":")
            return Check(
                name: "role", status: .fail,
                detail:
                    "the server is a read-only replica\(primary.isEmpty ? "" : " of \(primary)"); every write is refused (READONLY): point REDIS_URL at the primary"
            )
        case let role?:
            return Check(name: "role", status: .ok, detail: "the server is a \(role == "master" ? "primary" : role)")
        case nil:
            return Check(name: "role", status: .warn, detail: "INFO replication did not say the server's role")
        }
    }

    /// Every TokenLedger script by file name.
    ///
    /// - Throws: Nothing any more: the repository loaded every script when it was created (kept
    ///   `throws` for source compatibility).
    public static func allScripts(_ repository: TokenRepository) throws(LedgerError) -> [String: RedisScript] {
        repository.scripts.all
    }

    /// Loads every TokenLedger script into the server's script cache (`SCRIPT LOAD`, which changes
    /// no data), so a least-privilege application user, which may run loaded scripts but not load
    /// them, finds them. `tokenledger migrate` runs this as the administrator; run it again after
    /// the server restarts or fails over (the script cache is not persisted). On a Redis Cluster
    /// the scripts are loaded on every master of the slot map (each node has its own cache).
    ///
    /// - Returns: The number of scripts loaded (on each master).
    /// - Throws: `RedisError` (a permission error for a user without `SCRIPT LOAD`);
    ///   ``LedgerError`` when the server's digest of a script differs from ours.
    public static func loadScripts(repository: TokenRepository) async throws -> Int {
        let all = try allScripts(repository)
        let names = all.keys.sorted()
        let pool = repository.pool
        var digests: [String] = []
        if let topology = try await pool.clusterTopology() {
            for master in topology.servingMasters {
                digests = []
                for name in names { digests.append(try await pool.send(SCRIPT.LOAD(all[name]!), to: master.endpoint)) }
                try checkDigests(names, digests, all)
            }
            return names.count
        }
        digests = try await pool.pipeline(names.map { SCRIPT.LOAD(all[$0]!) })
        try checkDigests(names, digests, all)
        return names.count
    }

    /// Throws when a digest the server returned for a script differs from ours.
    private static func checkDigests(_ names: [String], _ digests: [String], _ all: [String: RedisScript]) throws {
        for (name, digest) in zip(names, digests) {
            guard digest == all[name]!.sha1 else {
                throw LedgerError(
                    code: .scriptMismatch,
                    message: "\(name).lua: the server's digest \(digest) differs from \(all[name]!.sha1)")
            }
        }
    }

    /// Whether every Lua script is installed and loads on the server with the expected digest. A
    /// user that may not load scripts (the application's) gets `SCRIPT EXISTS` instead: whether the
    /// administrator loaded them.
    static func scripts(_ repository: TokenRepository) async throws -> Check {
        let all = repository.scripts.all
        let names = all.keys.sorted()
        let digests = try await repository.pool.pipelineResults(names.map { SCRIPT.LOAD(all[$0]!) })
        if case .failure(let error) = digests.first, error.isPermissionDenied {
            return try await loadedScripts(repository, all)
        }
        var failures: [String] = []
        for (name, digest) in zip(names, digests) {
            switch digest {
            case .failure(let error):
                failures.append("\(name).lua: \(error.message)")
            case .success(let digest) where digest != all[name]!.sha1:
                failures.append("\(name).lua: the server's digest \(digest) differs from \(all[name]!.sha1)")
            case .success:
                break
            }
        }
        if failures.isEmpty {
            return Check(name: "scripts", status: .ok, detail: "\(names.count) Lua scripts load")
        }
        return Check(name: "scripts", status: .fail, detail: failures.joined(separator: "; "))
    }

    /// `SCRIPT EXISTS` for every script: the check of a user that may not load them.
    private static func loadedScripts(_ repository: TokenRepository, _ all: [String: RedisScript]) async throws -> Check
    {
        let names = all.keys.sorted()
        let loaded = try await repository.pool.send(SCRIPT.EXISTS(names.map { all[$0]!.sha1 }))
        let missing = names.filter { loaded[all[$0]!.sha1] != true }.map { "\($0).lua" }
        if missing.isEmpty {
            return Check(
                name: "scripts", status: .ok,
                detail: "\(names.count) Lua scripts are loaded (this user may run them, not load them)")
        }
        return Check(
            name: "scripts", status: .fail,
            detail:
                "not loaded on the server: \(missing.joined(separator: ", ")); this user may not load scripts: run tokenledger migrate (or doctor) as the administrator"
        )
    }

    /// Persistence (AOF/RDB) and memory, from `INFO`.
    static func server(_ repository: TokenRepository) async throws -> [Check] {
        let reads = (persistence: INFO("persistence"), memory: INFO("memory"), fsync: CONFIG.GET("appendfsync"))
        let replies = try await repository.pool.pipeline([
            reads.persistence.command, reads.memory.command, reads.fsync.command,
        ])
        if case .failure(let error) = reads.persistence.decodeResult(replies[0]), Self.isPermissionError(error) {
            return [
                Check(
                    name: "persistence", status: .warn,
                    detail:
                        "this user may not run INFO (least privilege); check persistence and memory as an administrator"
                )
            ]
        }
        let persistence = (try? reads.persistence.decodeResult(replies[0]).get()) ?? [:]
        let memory = (try? reads.memory.decodeResult(replies[1]).get()) ?? [:]
        let fsync = (try? reads.fsync.decodeResult(replies[2]).get())?["appendfsync"]

        var checks: [Check] = []
        let aof = persistence["aof_enabled"] == "1"
        let rdbSaves = persistence["rdb_last_save_time"].flatMap(Int.init) ?? 0
        var detail = "AOF \(aof ? "on" : "off")"
        if aof, let fsync { detail += " (appendfsync \(fsync))" }
        detail +=
            "; last RDB save \(rdbSaves > 0 ? ISO8601Instant.format(Date(timeIntervalSince1970: Double(rdbSaves))) : "never")"
        if let status = persistence["rdb_last_bgsave_status"] { detail += " (\(status))" }
        if persistence["aof_last_write_status"] == "err" || persistence["rdb_last_bgsave_status"] == "err" {
            checks.append(
                Check(
                    name: "persistence", status: .fail,
                    detail: detail + "; the last write to disk failed: see the server's log"))
        } else if !aof {
            checks.append(
                Check(
                    name: "persistence", status: .warn,
                    detail: detail
                        + "; a crash loses usage recorded since the last snapshot: turn on appendonly yes (docs/operations.md)"
                ))
        } else if fsync == "no" {
            checks.append(
                Check(
                    name: "persistence", status: .warn,
                    detail: detail + "; the OS decides when to flush: use appendfsync everysec or always"))
        } else {
            checks.append(Check(name: "persistence", status: .ok, detail: detail))
        }

        let used = memory["used_memory_human"] ?? "?"
        let maxmemory = memory["maxmemory"].flatMap(Int.init) ?? 0
        let policy = memory["maxmemory_policy"] ?? "?"
        let usedBytes = memory["used_memory"].flatMap(Int.init) ?? 0
        var memoryDetail = "used \(used)"
        if maxmemory > 0 {
            memoryDetail += " of \(memory["maxmemory_human"] ?? String(maxmemory)) (\(usedBytes * 100 / maxmemory) %)"
        } else {
            memoryDetail += ", no maxmemory"
        }
        memoryDetail += ", policy \(policy)"
        if maxmemory > 0 && policy != "noeviction" {
            checks.append(
                Check(
                    name: "memory", status: .warn,
                    detail: memoryDetail
                        + "; an eviction policy can delete usage and limits: use maxmemory-policy noeviction"))
        } else if maxmemory > 0 && usedBytes * 10 > maxmemory * 9 {
            checks.append(Check(name: "memory", status: .warn, detail: memoryDetail + "; above 90 % of maxmemory"))
        } else {
            checks.append(Check(name: "memory", status: .ok, detail: memoryDetail))
        }
        return checks
    }

    /// When rollover last ran.
    static func rollover(_ repository: TokenRepository, now: Date) async throws -> Check {
        let lastRun = try await repository.pool.send(HGET(repository.keys.rolloverState, field: "last_finished_at"))
        guard let text = lastRun, let last = try? ISO8601Instant.parse(text) else {
            return Check(
                name: "rollover", status: .warn,
                detail: "has never run in this namespace; schedule tokenledger rollover daily (docker/crontab)")
        }
        if now.timeIntervalSince(last) > 2 * 86_400 {
            return Check(
                name: "rollover", status: .warn, detail: "last ran \(text), more than 2 days ago: is cron running?")
        }
        return Check(name: "rollover", status: .ok, detail: "last ran \(text)")
    }

    /// What the connected user may do, found with probes that change nothing: a read-only script on
    /// the namespace (the application's path), the commands the scripts run on the rate-limit keys
    /// (`rateProbes(_:)`), deleting a key that does not exist (what `reset`
    /// needs), removing a field that does not exist from the settings (what `limit set --default`
    /// needs), and reading a key outside the namespace (least privilege).
    static func permissions(_ repository: TokenRepository) async throws -> [Check] {
        let pool = repository.pool
        let keys = repository.keys
        let whoami = try? await pool.send(ACL.WHOAMI())
        let who = whoami.map { "user '\($0)'" } ?? "this user"
        let probe = "doctor-probe-\(UInt32.random(in: 0...UInt32.max))"

        var canRecord = true
        var recordDetail = ""
        do {
            _ = try await repository.check(user: probe, tokens: 0)
        } catch let error as RedisError where isPermissionError(error) {
            canRecord = false
            recordDetail = error.message
        }
        // The rate keys are touched only for a scope with a rate limit: probed on their own.
        let refusedRate = canRecord ? try await refusedRateCommands(pool, try keys.user(probe)) : []
        let deletes = try await permitted(pool, UNLINK(keys.namespace + ":{global}:" + probe))
        let setsDefaults = try await permitted(pool, HDEL(keys.config, fields: [probe]))
        let outside = try await permitted(pool, EXISTS(probe + ":outside-" + keys.namespace))

        var checks: [Check] = []
        if !refusedRate.isEmpty {
            checks.append(rateRefusal(who: who, namespace: keys.namespace, refused: refusedRate))
        } else if canRecord {
            let role =
                deletes && setsDefaults
                ? "administrator: may also reset and change settings"
                : "application: may record and reserve, may not reset or change settings"
            checks.append(
                Check(
                    name: "permissions", status: .ok,
                    detail: "\(who) runs TokenLedger's scripts on '\(keys.namespace):*' (\(role))"))
        } else {
            checks.append(
                Check(
                    name: "permissions", status: .fail,
                    detail:
                        "\(who) may not run TokenLedger's scripts on '\(keys.namespace):*': \(recordDetail) (see docs/operations.md, Least privilege)"
                ))
        }
        if outside {
            checks.append(
                Check(
                    name: "key access", status: .warn,
                    detail:
                        "\(who) may read keys outside '\(keys.namespace):*'; give the application its own ACL user (docs/operations.md)"
                ))
        } else {
            checks.append(Check(name: "key access", status: .ok, detail: "\(who) is confined to '\(keys.namespace):*'"))
        }
        return checks
    }

    /// Runs one check; a least-privilege user's refusal becomes a warning instead of an error.
    static func permitted(_ name: String, _ body: () async throws -> [Check]) async throws -> [Check] {
        do {
            return try await body()
        } catch let error as RedisError where isPermissionError(error) {
            return [
                Check(
                    name: name, status: .warn,
                    detail:
                        "not checked: needs the administrator's user (this user got \(error.serverCode ?? "NOPERM")); run doctor as the administrator"
                )
            ]
        } catch let error as RedisError where error.isServerUnavailable {
            // A replica (READONLY) or a full server (OOM) refuses the probes; the role and memory
            // checks say why.
            return [Check(name: name, status: .warn, detail: "not checked: \(error.message)")]
        }
    }

    /// Whether the user may run `command` (which must change nothing when allowed).
    private static func permitted(_ pool: RedisConnectionPool, _ command: some RedisCommandRepresentable) async throws
        -> Bool
    {
        try await isPermitted { _ = try await pool.send(command) }
    }

    /// Whether `send` runs without a permission error: `false` on one, any other error thrown.
    static func isPermitted(_ send: () async throws -> Void) async throws -> Bool {
        do {
            try await send()
            return true
        } catch let error as RedisError where isPermissionError(error) {
            return false
        }
    }

    static func isPermissionError(_ error: RedisError) -> Bool {
        error.isPermissionDenied
    }
}

import Foundation
import RedisClient

/// Migration 2 (`migrations/0002-import-legacy.md`): imports the seed's layout, hashes
/// `token_usage:<user_id>:<YYYY-MM-DD>` with `prompt_tokens`, `completion_tokens`, `total_tokens`
/// and `usage_limit`.
///
/// Each hash becomes one recorded call with the id `legacy:<date>` in the user's explicit cycle
/// `<date>` (`legacy_import.lua`, in the user's slot), so importing it again is a duplicate:
/// input = prompt_tokens, output = completion_tokens, and when total_tokens is larger than their sum
/// (the seed's basic handler counted totals only) the rest is booked as input, so the user's total
/// stays the seed's total. `usage_limit` becomes the user's limit (the latest legacy cycle's wins; a
/// limit set in TokenLedger is kept). The cycle is added to the derived index.
///
/// The `SCAN` position (on a cluster, the master being walked and its cursor: ``scanStep(_:pool:command:)``)
/// and the counts are checkpointed after every batch, so an interrupted run
/// resumes where it stopped; a batch redone after a crash finds its calls already recorded.
/// Legacy keys are left in place unless ``MigrationOptions/deleteLegacy`` is set; then each is
/// deleted only when the user's cycle holds exactly its total and the hash still holds what was read.
/// Keys that are not of this shape (a bad user id or date, a field that is not a whole number) are
/// skipped, counted and reported, and never deleted.
struct LegacyImportMigration: Migration {
    let version = 2
    let name = "import-legacy"
    let summary = "imports the seed's token_usage:<user>:<YYYY-MM-DD> hashes (totals, limit, cycle)"

    /// The `SCAN MATCH` pattern of the seed's keys.
    static let pattern = "token_usage:*"

    /// One legacy hash, parsed.
    struct Entry {
        var key: [UInt8]
        var user: String
        var cycle: CalendarDate
        /// The raw field values ("" when absent), for the compare-and-delete.
        var raw: [String]
        var input: Int
        var output: Int
        var limit: Int?
        var total: Int { input + output }
    }

    func apply(_ context: MigrationContext) async throws -> [String: Int] {
        let checkpoint = try await context.loadCheckpoint()
        var cursor = checkpoint["cursor"] ?? "0"
        var counts = checkpoint.compactMapValues { Int($0) }.filter { $0.key != "cursor" }
        if cursor != "0" { context.progress?("resuming from SCAN cursor \(cursor) (\(counts["keys"] ?? 0) keys done)") }
        var lastReport = ContinuousClock.now
        repeat {
            let (next, entries, skipped) = try await scanPage(cursor, context: context)
            cursor = next
            counts["keys", default: 0] += entries.count + skipped
            counts["skipped", default: 0] += skipped
            if context.options.dryRun {
                counts["would_import", default: 0] += entries.filter { $0.total > 0 }.count
                counts["tokens", default: 0] += entries.reduce(0) { $0 + $1.total }
            } else if !entries.isEmpty {
                try await importEntries(entries, context: context, counts: &counts)
                if context.options.deleteLegacy {
                    let (deleted, kept) = try await deleteVerified(entries, context: context)
                    counts["deleted", default: 0] += deleted
                    counts["kept_changed", default: 0] += kept
                }
            }
            var fields = counts.mapValues(String.init)
            fields["cursor"] = cursor
            try await context.saveCheckpoint(fields)
            if ContinuousClock.now - lastReport >= .seconds(1) || cursor == "0" {
                context.progress?(
                    "legacy keys: \(counts["keys"] ?? 0) read, \(counts["imported"] ?? 0) imported, "
                        + "\(counts["duplicates"] ?? 0) already imported, \(counts["parked"] ?? 0) parked (past the "
                        + "dedupe window), \(counts["closed"] ?? 0) in closed cycles, \(counts["skipped"] ?? 0) skipped"
                )
                lastReport = ContinuousClock.now
            }
            if cursor != "0" { try await context.pauseBetweenBatches() }
        } while cursor != "0"
        return counts
    }

    /// `--delete-legacy` after the import was applied by an earlier run: deletes every legacy hash
    /// whose import is verified, leaving the rest.
    func deleteImported(_ context: MigrationContext) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        var cursor = "0"
        repeat {
            let (next, entries, skipped) = try await scanPage(cursor, context: context)
            cursor = next
            counts["keys", default: 0] += entries.count + skipped
            counts["skipped", default: 0] += skipped
            if context.options.dryRun { continue }
            let (deleted, kept) = try await deleteVerified(entries, context: context)
            counts["deleted", default: 0] += deleted
            counts["kept_changed", default: 0] += kept
            try await context.keepAlive()
            if cursor != "0" { try await context.pauseBetweenBatches() }
        } while cursor != "0"
        return counts
    }

    // MARK: - Steps

    /// One `SCAN` step over the whole keyspace: the parsed legacy hashes, and how many keys were skipped.
    private func scanPage(_ cursor: String, context: MigrationContext) async throws -> (String, [Entry], Int) {
        let pool = context.repository.pool
        // A page at a time, not pool.scan(match:): the cursor is checkpointed after every page.
        let (next, keys) = try await Self.scanStep(
            cursor, pool: pool, command: { SCAN(cursor: $0, match: Self.pattern, count: context.options.batchSize) })
        var skipped = 0
        var candidates: [(key: [UInt8], user: String, cycle: CalendarDate)] = []
        for key in keys {
            switch Self.parseKey(key) {
            case .success(let parsed): candidates.append((key, parsed.user, parsed.cycle))
            case .failure(let reason):
                skipped += 1
                context.progress?("skipped \(Self.printable(key)): \(reason.message)")
            }
        }
        if candidates.isEmpty { return (next, [], skipped) }
        let hashes = try await pool.pipelineResults(candidates.map { HGETALL($0.key) })
        var entries: [Entry] = []
        for (candidate, hash) in zip(candidates, hashes) {
            switch Self.parseHash(hash) {
            case .success(let values):
                entries.append(
                    Entry(
                        key: candidate.key, user: candidate.user, cycle: candidate.cycle, raw: values.raw,
                        input: values.input, output: values.output, limit: values.limit))
            case .failure(let reason):
                // A key deleted between SCAN and HGETALL (empty reply) is simply gone.
                if case .success(let fields) = hash, fields.isEmpty { continue }
                skipped += 1
                context.progress?("skipped \(Self.printable(candidate.key)): \(reason.message)")
            }
        }
        return (next, entries, skipped)
    }

    private func importEntries(_ entries: [Entry], context: MigrationContext, counts: inout [String: Int]) async throws
    {
        let keys = context.repository.keys
        var imports: [LegacyImportScript] = []
        var indexed: [CalendarDate: Set<String>] = [:]
        for entry in entries {
            imports.append(
                LegacyImportScript(
                    userKeys: try keys.user(entry.user), cycle: entry.cycle, input: entry.input, output: entry.output,
                    limit: entry.limit))
            if entry.total > 0 { indexed[entry.cycle, default: []].insert(entry.user) }
        }
        let indexWrites = indexed.sorted(by: { $0.key < $1.key }).map { cycle, users in
            IndexScript(keySet: keys, cycle: cycle, users: users.sorted())
        }
        // One pipeline: the imports, then the index writes.
        let scripts = context.repository.scripts
        let replies = try await context.repository.pool.evaluateMany(
            imports.map { $0.call(scripts) } + indexWrites.map { $0.call(scripts) })
        for (entry, (call, reply)) in zip(entries, zip(imports, replies)) {
            let imported = try call.decode(reply)
            switch imported.status {
            case .applied:
                counts["imported", default: 0] += 1
                counts["tokens", default: 0] += entry.total
            case .duplicate: counts["duplicates", default: 0] += 1
            // The cycle's call ids were dropped after the dedupe window: nothing counted (it may have
            // been imported before), counted apart so the operator sees it.
            case .parked: counts["parked", default: 0] += 1
            // Rollover closed the cycle and wrote its history: counted apart, nothing imported.
            case .other("closed"): counts["closed", default: 0] += 1
            default: counts["limit_only", default: 0] += 1
            }
            switch imported.limit {
            case "set": counts["limits_set", default: 0] += 1
            case "kept": counts["limits_kept", default: 0] += 1
            default: break
            }
        }
        for (call, reply) in zip(indexWrites, replies.dropFirst(imports.count)) { _ = try call.decode(reply) }
    }

    /// Deletes the legacy hashes whose import is verified: the user's cycle holds the call
    /// `legacy:<date>` with exactly the hash's total (or the hash has no tokens), and the hash still
    /// holds exactly what was read. Returns (deleted, kept because they changed or differ).
    private func deleteVerified(_ entries: [Entry], context: MigrationContext) async throws -> (Int, Int) {
        if entries.isEmpty { return (0, 0) }
        let keys = context.repository.keys
        let recorded = try await context.repository.pool.pipeline(
            try entries.map { entry in
                let fingerprint = CallFingerprint(callID: "legacy:\(entry.cycle)")
                return HGET(
                    try keys.user(entry.user).callBucket(named: entry.cycle.description, fingerprint: fingerprint),
                    fieldBytes: fingerprint.field)
            })
        var deletions: [LegacyDeleteScript] = []
        var kept = 0
        for (entry, stored) in zip(entries, recorded) {
            let total = stored.flatMap { Int($0) }
            guard entry.total == 0 || total == entry.total else {
                kept += 1
                continue
            }
            deletions.append(LegacyDeleteScript(key: entry.key, expected: entry.raw))
        }
        if deletions.isEmpty { return (0, kept) }
        let deleted = try await context.repository.runAll(deletions).filter { $0 }.count
        return (deleted, kept + deletions.count - deleted)
    }

    // MARK: - Parsing

    /// Why a legacy key was skipped.
    struct Skip: Error {
        var message: String
    }

    /// `token_usage:<user>:<YYYY-MM-DD>` → the user (which may contain `:`) and the date.
    static func parseKey(_ key: [UInt8]) -> Result<(user: String, cycle: CalendarDate), Skip> {
        let prefix = Array("token_usage:".utf8)
        guard key.count > prefix.count + 11, Array(key.prefix(prefix.count)) == prefix,
            key[key.count - 11] == UInt8(ascii: ":")
        else { return .failure(Skip(message: "not of the form token_usage:<user_id>:<YYYY-MM-DD>")) }
        guard let user = String(validating: key[prefix.count..<(key.count - 11)], as: UTF8.self) else {
            return .failure(Skip(message: "the user id is not valid UTF-8"))
        }
        let dateText = String(decoding: key.suffix(10), as: UTF8.self)
        do {
            try Validation.validateUserID(user)
            return .success((user, try CalendarDate(parsing: dateText)))
        } catch {
            return .failure(Skip(message: error.message))
        }
    }

    /// The fields of a legacy hash → raw values, input, output and limit.
    static func parseHash(_ reply: RedisReply) -> Result<(raw: [String], input: Int, output: Int, limit: Int?), Skip> {
        parseHash(HGETALL("").decodeResult(reply))
    }

    /// A legacy hash's fields as `HGETALL` read them (or why not), parsed.
    static func parseHash(
        _ hash: Result<[String: String], RedisError>
    ) -> Result<(raw: [String], input: Int, output: Int, limit: Int?), Skip> {
        let values: [String: String]
        switch hash {
        case .failure(let error): return .failure(Skip(message: "not a hash (\(error.message))"))
        case .success(let fields) where fields.isEmpty: return .failure(Skip(message: "gone or empty"))
        case .success(let fields): values = fields
        }
        let names = ["prompt_tokens", "completion_tokens", "total_tokens", "usage_limit"]
        var numbers: [Int] = []
        for name in names {
            guard let text = values[name] else {
                numbers.append(0)
                continue
            }
            guard let value = Int(text), value >= 0, value <= 1_000_000_000_000 else {
                return .failure(Skip(message: "\(name) is '\(text)', not a whole number from 0 to 10^12"))
            }
            numbers.append(value)
        }
        let (prompt, completion, total, limit) = (numbers[0], numbers[1], numbers[2], numbers[3])
        // The seed's basic handler counted totals only: keep the seed's total, booking the rest as input.
        let input = prompt + max(0, total - prompt - completion)
        // The seed ignores limits of 0 or less (no limit).
        return .success((names.map { values[$0] ?? "" }, input, completion, limit > 0 ? limit : nil))
    }

    /// A key for messages: UTF-8 with control bytes escaped, at most 200 bytes.
    static func printable(_ key: [UInt8]) -> String {
        let text = String(decoding: key.prefix(200), as: UTF8.self)
        return text.unicodeScalars.map {
            $0.value < 0x20 || $0.value == 0x7F ? "\\x" + String($0.value, radix: 16) : String($0)
        }
        .joined()
    }
}

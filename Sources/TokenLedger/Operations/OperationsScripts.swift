import Foundation
import RedisClient

/// The Lua scripts of the operations layer (rollover, retention, locks, migrations), each prefixed
/// with `common.lua` like the repository's own, loaded once from the module's resources.
struct OperationsScripts: Sendable {
    let lock: RedisScript
    let history: RedisScript
    let retention: RedisScript
    let cycleDrop: RedisScript
    let rolloverState: RedisScript
    let migration: RedisScript
    let legacyImport: RedisScript
    let legacyDelete: RedisScript

    /// Every script by file name, for tests and `doctor`.
    var all: [String: RedisScript] {
        [
            "lock": lock, "history": history, "retention": retention, "cycle_drop": cycleDrop,
            "rollover_state": rolloverState, "migration": migration, "legacy_import": legacyImport,
            "legacy_delete": legacyDelete,
        ]
    }

    /// The scripts, read from the module's resources on first use.
    static let shared: Result<OperationsScripts, LedgerError> = Result { () throws(LedgerError) in try load() }

    private static func load() throws(LedgerError) -> OperationsScripts {
        let common = try source("common")
        func script(_ name: String) throws(LedgerError) -> RedisScript {
            RedisScript(source: common + "\n" + (try source(name)))
        }
        return OperationsScripts(
            lock: try script("lock"), history: try script("history"), retention: try script("retention"),
            cycleDrop: try script("cycle_drop"), rolloverState: try script("rollover_state"),
            migration: try script("migration"), legacyImport: try script("legacy_import"),
            legacyDelete: try script("legacy_delete"))
    }

    /// The text of `Scripts/<name>.lua` in the module's resource bundle.
    static func source(_ name: String) throws(LedgerError) -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: "lua", subdirectory: "Scripts"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else {
            throw LedgerError(
                code: .internalError,
                message: "the Lua script \(name).lua is missing from TokenLedger's resources (\(Bundle.module.bundlePath))")
        }
        return text
    }
}

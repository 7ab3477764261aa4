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
    let close: RedisScript
    let historyAdjust: RedisScript
    let lateDone: RedisScript

    /// Every script by file name, for tests and `doctor`.
    var all: [String: RedisScript] {
        [
            "lock": lock, "history": history, "retention": retention, "cycle_drop": cycleDrop,
            "rollover_state": rolloverState, "migration": migration, "legacy_import": legacyImport,
            "legacy_delete": legacyDelete, "close": close, "history_adjust": historyAdjust, "late_done": lateDone,
        ]
    }

    /// The scripts, read from the module's resources on first use.
    static let shared: Result<OperationsScripts, LedgerError> = Result { () throws(LedgerError) in try load() }

    private static func load() throws(LedgerError) -> OperationsScripts {
        OperationsScripts(
            lock: try LuaScripts.script("lock"), history: try LuaScripts.script("history"),
            retention: try LuaScripts.script("retention"), cycleDrop: try LuaScripts.script("cycle_drop"),
            rolloverState: try LuaScripts.script("rollover_state"), migration: try LuaScripts.script("migration"),
            legacyImport: try LuaScripts.script("legacy_import"), legacyDelete: try LuaScripts.script("legacy_delete"),
            close: try LuaScripts.script("close"), historyAdjust: try LuaScripts.script("history_adjust"),
            lateDone: try LuaScripts.script("late_done"))
    }
}

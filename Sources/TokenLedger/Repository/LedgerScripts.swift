import Foundation
import RedisClient

/// The Lua scripts in `Sources/TokenLedger/Scripts/`, each prefixed with `common.lua`, loaded once.
struct LedgerScripts: Sendable {
    let record: RedisScript
    let reserve: RedisScript
    let settle: RedisScript
    let release: RedisScript
    let check: RedisScript
    let usage: RedisScript
    let reset: RedisScript
    let profile: RedisScript
    let config: RedisScript
    let index: RedisScript

    /// Every script by file name, for tests and `doctor`.
    var all: [String: RedisScript] {
        [
            "record": record, "reserve": reserve, "settle": settle, "release": release, "check": check,
            "usage": usage, "reset": reset, "profile": profile, "config": config, "index": index,
        ]
    }

    /// The scripts, read from the module's resources on first use.
    static let shared: Result<LedgerScripts, LedgerError> = Result { () throws(LedgerError) in
        LedgerScripts(
            record: try LuaScripts.script("record"), reserve: try LuaScripts.script("reserve"),
            settle: try LuaScripts.script("settle"), release: try LuaScripts.script("release"),
            check: try LuaScripts.script("check"), usage: try LuaScripts.script("usage"),
            reset: try LuaScripts.script("reset"), profile: try LuaScripts.script("profile"),
            config: try LuaScripts.script("config"), index: try LuaScripts.script("index"))
    }
}

/// Reads `Sources/TokenLedger/Scripts/<name>.lua` from the module's resources and prefixes it with
/// `common.lua`: how every TokenLedger script is built.
enum LuaScripts {
    /// A script by file name (without `.lua`), with `common.lua` in front.
    static func script(_ name: String) throws(LedgerError) -> RedisScript {
        RedisScript(source: try source("common") + "\n" + (try source(name)))
    }

    /// The text of `Scripts/<name>.lua` in the module's resource bundle.
    static func source(_ name: String) throws(LedgerError) -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: "lua", subdirectory: "Scripts"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else {
            throw LedgerError(
                code: .missingScript,
                message: "the Lua script \(name).lua is missing from TokenLedger's resources (\(Bundle.module.bundlePath))")
        }
        return text
    }
}

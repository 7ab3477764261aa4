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
    static let shared: Result<LedgerScripts, LedgerError> = Result { () throws(LedgerError) in try load() }

    private static func load() throws(LedgerError) -> LedgerScripts {
        func read(_ name: String) throws(LedgerError) -> String {
            guard let url = Bundle.module.url(forResource: name, withExtension: "lua", subdirectory: "Scripts"),
                let text = try? String(contentsOf: url, encoding: .utf8)
            else {
                throw LedgerError(
                    code: .internalError,
                    message: "the Lua script \(name).lua is missing from TokenLedger's resources (\(Bundle.module.bundlePath))")
            }
            return text
        }
        let common = try read("common")
        func script(_ name: String) throws(LedgerError) -> RedisScript {
            RedisScript(source: common + "\n" + (try read(name)))
        }
        return LedgerScripts(
            record: try script("record"), reserve: try script("reserve"), settle: try script("settle"),
            release: try script("release"), check: try script("check"), usage: try script("usage"),
            reset: try script("reset"), profile: try script("profile"), config: try script("config"),
            index: try script("index"))
    }
}

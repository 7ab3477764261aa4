import Foundation
import RedisClient

/// The file name (without `.lua`) of every TokenLedger script in `Sources/TokenLedger/Scripts/`.
enum ScriptName: String, Sendable, CaseIterable {
    // Recording and quotas.
    case record, reserve, settle, release, check, usage, index
    case indexMark = "index_mark"
    // Scopes (teams and orgs).
    case scopes, membership
    // Administration.
    case reset, profile, config
    // Rollover, retention, late calls and locks.
    case lock, history, retention, close
    case cycleDrop = "cycle_drop"
    case rolloverState = "rollover_state"
    case historyAdjust = "history_adjust"
    case lateDone = "late_done"
    case callsDrop = "calls_drop"
    case historyCompact = "history_compact"
    // Migrations.
    case migration
    case legacyImport = "legacy_import"
    case legacyDelete = "legacy_delete"
    case callsConvert = "calls_convert"
    // API keys of the HTTP service.
    case apikeyCreate = "apikey_create"
    case apikeyRevoke = "apikey_revoke"
}

/// Every TokenLedger Lua script, each prefixed with `common.lua`, read once from the module's
/// resources: the one registry the repository, rollover, migrations, `doctor` and tests use.
struct ScriptRegistry: Sendable {
    private let scripts: [ScriptName: RedisScript]

    /// The script of a file.
    subscript(name: ScriptName) -> RedisScript {
        // Every name is loaded by load(), which throws when one is missing.
        scripts[name]!
    }

    /// Every script by file name, for tests and `doctor`.
    var all: [String: RedisScript] {
        Dictionary(uniqueKeysWithValues: scripts.map { ($0.key.rawValue, $0.value) })
    }

    /// The scripts, read from the module's resources on first use.
    static let shared: Result<ScriptRegistry, LedgerError> = Result { () throws(LedgerError) in try load() }

    private static func load() throws(LedgerError) -> ScriptRegistry {
        let common = try source("common")
        var scripts: [ScriptName: RedisScript] = [:]
        for name in ScriptName.allCases {
            scripts[name] = RedisScript(source: common + "\n" + (try source(name.rawValue)))
        }
        return ScriptRegistry(scripts: scripts)
    }

    /// The text of `Scripts/<name>.lua` in the module's resource bundle.
    static func source(_ name: String) throws(LedgerError) -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: "lua", subdirectory: "Scripts"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else {
            throw LedgerError(
                code: .missingScript,
                message:
                    "the Lua script \(name).lua is missing from TokenLedger's resources (\(Bundle.module.bundlePath))")
        }
        return text
    }
}

import ArgumentParser
import Foundation
import RedisClient
import TokenLedger

/// The CLI's exit codes (SPEC: CLI contract), following sysexits.h.
enum ExitStatus: Int32 {
    case ok = 0
    case quotaDenied = 1
    case usage = 64
    case dataError = 65
    case unavailable = 69
    case internalError = 70
    /// The Redis user may not do this: wrong password, or an ACL refusal (`NOPERM`).
    case permissionDenied = 77
}

/// A failure the CLI reports on stderr with a chosen exit code.
struct CLIFailure: Error {
    var exitCode: ExitStatus
    var message: String
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data(("tokenledger: " + message + "\n").utf8))
}

/// Runs a command body, turning known errors into a message on stderr and the contract's exit code.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let failure as CLIFailure {
        printError(failure.message)
        throw ExitCode(failure.exitCode.rawValue)
    } catch let error as TokenLedger.ValidationError {
        printError(error.message)
        throw ExitCode(ExitStatus.dataError.rawValue)
    } catch let error as ExtractionError {
        printError(error.message)
        throw ExitCode(ExitStatus.dataError.rawValue)
    } catch let error as LedgerError {
        printError(error.message)
        let status: ExitStatus
        switch error.code {
        // A stored schema newer than this binary, or stored values that are not what the scripts
        // write (a non-numeric or negative counter): bad data, not a bug here.
        case .overflow, .newerSchema, .corruptData, .cycleRetired: status = .dataError
        case .namespaceMismatch, .instantInFuture: status = .usage
        default: status = .internalError
        }
        throw ExitCode(status.rawValue)
    } catch let error as RedisError {
        printError(cliMessage(for: error))
        throw ExitCode(exitStatus(for: error).rawValue)
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("internal error: \(sentence(for: error))")
        throw ExitCode(ExitStatus.internalError.rawValue)
    }
}

/// The exit code for a Redis error: a wrong password or an ACL refusal → 77; unreachable, or a
/// server that cannot serve now (read-only replica, out of memory, loading, busy, cluster down or
/// a cluster this client cannot route, scripts not loaded) → 69; configuration → 64; else 70.
func exitStatus(for error: RedisError) -> ExitStatus {
    if error.isPermissionDenied { return .permissionDenied }
    if error.isUnavailable || error.isServerUnavailable || error.code == .poolClosed { return .unavailable }
    if error.code == .invalidConfiguration { return .usage }
    return .internalError
}

/// The sentence printed for a Redis error, with what to do where the CLI knows it.
func cliMessage(for error: RedisError) -> String {
    if error.code == .scriptNotLoaded {
        return error.message + ": run `tokenledger migrate` (or `tokenledger doctor`) as the administrator to load TokenLedger's scripts"
    }
    if error.isPermissionDenied && error.code == .server {
        return error.message + "; see docs/operations.md, Least privilege (administrative commands need the administrator's user)"
    }
    return error.message
}

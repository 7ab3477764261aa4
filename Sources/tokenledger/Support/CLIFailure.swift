import ArgumentParser
import BytePairEncoding
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
    } catch let error as ExitCode {
        throw error
    } catch {
        printError(cliMessage(for: error))
        throw ExitCode(exitStatus(for: error).rawValue)
    }
}

extension ExitStatus {
    /// The exit status for each kind of failure: the one table from ``ErrorCategory`` to the
    /// contract's exit codes (SPEC: CLI contract).
    init(_ category: ErrorCategory) {
        switch category {
        case .quotaDenied: self = .quotaDenied
        case .misuse: self = .usage
        // Refused input, stored values that are not what the scripts write (a non-numeric or
        // negative counter), a schema newer than this binary: bad data, not a bug here.
        case .badInput, .corruptData, .incompatibleData: self = .dataError
        case .unavailable: self = .unavailable
        case .permissionDenied: self = .permissionDenied
        case .internal: self = .internalError
        }
    }
}

/// The exit code for an error: its ``ErrorCategory`` through ``ExitStatus/init(_:)``. A wrong
/// password or an ACL refusal → 77; unreachable, or a server that cannot serve now (read-only
/// replica, out of memory, loading, busy, cluster down or a cluster this client cannot route,
/// scripts not loaded) → 69; bad input or stored data → 65; configuration → 64; else 70.
func exitStatus(for error: any Error) -> ExitStatus {
    ExitStatus(ErrorCategory.of(error))
}

/// The sentence printed for an error: the message of TokenLedger's errors (with what to do, for a
/// Redis error, where the CLI knows it); `internal error: …` for anything else.
func cliMessage(for error: any Error) -> String {
    switch error {
    case let error as RedisError: cliMessage(for: error)
    case let error as TokenLedger.ValidationError: error.message
    // A response with only a total (or no output count): the CLI knows the other way to record it.
    case let error as ExtractionError where error.code == .incompleteUsage:
        error.message + "; give the counts with record --input N --output N"
    case let error as ExtractionError: error.message
    case let error as LedgerError: error.message
    case let error as CallConflict: error.message
    case let error as ParkedWrite: error.message
    case is QuotaExceededError, is QuotaUnavailableError: "\(error)"
    case is RankFileError: sentence(for: error)
    // Never a Swift type or case name, nor a Foundation domain (ErrorSentence.swift).
    default: "internal error: " + sentence(for: error)
    }
}

/// The sentence printed for a Redis error, with what to do where the CLI knows it.
func cliMessage(for error: RedisError) -> String {
    if error.code == .scriptNotLoaded {
        return error.message
            + ": run `tokenledger migrate` (or `tokenledger doctor`) as the administrator to load TokenLedger's scripts"
    }
    if error.isPermissionDenied && error.code == .server {
        return error.message
            + "; see docs/operations.md, Least privilege (administrative commands need the administrator's user)"
    }
    return error.message
}

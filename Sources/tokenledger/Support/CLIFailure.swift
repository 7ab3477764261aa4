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
        let status: ExitStatus =
            switch error.code {
            case .overflow, .cycleRetired: .dataError
            case .namespaceMismatch, .instantInFuture: .usage
            default: .internalError
            }
        throw ExitCode(status.rawValue)
    } catch let error as RedisError {
        printError(error.message)
        throw ExitCode(exitStatus(for: error).rawValue)
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("internal error: \(error)")
        throw ExitCode(ExitStatus.internalError.rawValue)
    }
}

/// The exit code for a Redis error: unreachable or refused access → 69; configuration → 64; else 70.
func exitStatus(for error: RedisError) -> ExitStatus {
    if error.isUnavailable || error.code == .authenticationFailed { return .unavailable }
    if error.code == .invalidConfiguration { return .usage }
    return .internalError
}

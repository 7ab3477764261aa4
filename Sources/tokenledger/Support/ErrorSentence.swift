import BytePairEncoding
import Foundation
import RedisClient
import TokenLedger

/// An error as a sentence for stderr: never a Swift type or case name (`rankCountMismatch:`,
/// `fileNotFound:`) nor Foundation's `NSCocoaErrorDomain error 512`.
func sentence(for error: any Error) -> String {
    switch error {
    case let failure as CLIFailure:
        return failure.message
    case let error as RankFileError:
        // `path:line: message`, as compilers name a place; the code (`rank_count_mismatch`) is left out.
        let place = error.path.isEmpty ? "" : error.line.map { "\(error.path):\($0): " } ?? "\(error.path): "
        return place + error.message
    case let error as SpoolError:
        return error.description  // `io: …`: the code and the message
    case is RedisError, is TokenLedger.ValidationError, is LedgerError, is ExtractionError, is QuotaExceededError,
        is QuotaUnavailableError:
        return cliMessage(for: error)
    case DecodingError.dataCorrupted(let context), DecodingError.keyNotFound(_, let context),
        DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
        return "the data could not be read: " + context.debugDescription
    case EncodingError.invalidValue(_, let context):
        return "the result could not be written: " + context.debugDescription
    default:
        let bridged = error as NSError
        if bridged.domain == NSCocoaErrorDomain || bridged.domain == NSPOSIXErrorDomain {
            return fileErrorSentence(bridged)
        }
        // Any other type would print its Swift name (`tokenledger.SomeError`): a plain sentence instead.
        return "an unexpected error occurred (code \(bridged.code))"
    }
}

/// A Foundation file error as a sentence: what went wrong, from the POSIX cause when there is one.
private func fileErrorSentence(_ error: NSError) -> String {
    if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code))).lowercased()
    }
    if error.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(error.code))).lowercased() }
    switch CocoaError.Code(rawValue: error.code) {
    case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file or directory"
    case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
    case .fileWriteOutOfSpace: return "no space left on the device"
    case .fileWriteVolumeReadOnly: return "the file system is read-only"
    case .fileWriteFileExists: return "the file already exists"
    case .fileReadCorruptFile: return "the file is damaged or not in the expected format"
    case .fileReadTooLarge: return "the file is too large"
    case .fileReadInapplicableStringEncoding, .fileWriteInapplicableStringEncoding: return "the text is not valid UTF-8"
    case .fileWriteInvalidFileName: return "the file name is not valid"
    case .fileWriteUnknown: return "the file could not be written (does its directory exist?)"
    case .fileReadUnknown: return "the file could not be read"
    default: return "the file operation failed"
    }
}

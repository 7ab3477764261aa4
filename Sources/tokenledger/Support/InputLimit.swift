import ArgumentParser
import Foundation
import TokenLedger

/// The cap on standard input and input files (`extract`, `estimate`, `record --response`), so a huge
/// input is a clear error instead of gigabytes of memory (SPEC "Bad input": default 64 MiB for the CLI).
struct InputLimitOptions: ParsableArguments {
    /// The default cap: 64 MiB.
    static let defaultBytes = 64 << 20
    /// The largest cap one may set: 1 GiB.
    static let largestBytes = 1 << 30
    /// The environment variable that sets the cap when the option is not given.
    static let environmentName = "TOKENLEDGER_MAX_INPUT_BYTES"

    @Option(
        name: .customLong("max-input-bytes"),
        help:
            "The most bytes read from stdin or a file (default: $TOKENLEDGER_MAX_INPUT_BYTES, else 67108864 = 64 MiB).")
    var maxInputBytes: String?

    init() {}

    /// The cap in bytes, from the option, else the configuration (`TOKENLEDGER_MAX_INPUT_BYTES` or the
    /// configuration file), else 64 MiB.
    ///
    /// - Throws: ``CLIFailure`` (exit 64) when the value is not a whole number from 1 to 1 GiB.
    func bytes(_ global: GlobalOptions) async throws -> Int {
        if let maxInputBytes { return try Self.parse(maxInputBytes, source: "--max-input-bytes") }
        if let text = try await global.localSettings().maxInputBytes {
            return try Self.parse(text, source: Self.environmentName)
        }
        return Self.defaultBytes
    }

    private static func parse(_ text: String, source: String) throws -> Int {
        guard !text.isEmpty, text.utf8.count <= 12, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let value = Int(text), (1...largestBytes).contains(value)
        else {
            throw CLIFailure(
                exitCode: .usage,
                message:
                    "\(source) is \(String(reflecting: String(text.prefix(40)))); it must be a whole number of bytes from 1 to \(largestBytes)"
            )
        }
        return value
    }
}

/// Reads standard input (`path == "-"`) or a file, at most `cap` bytes: it reads `cap + 1` bytes at
/// most, so a larger input is refused without being held in memory.
///
/// - Throws: ``TokenLedger/ValidationError`` with code `input_too_large` (exit 65) naming the cap and
///   how to raise it; ``CLIFailure`` (exit 65) when a file cannot be opened.
func readCappedInput(_ path: String, cap: Int) throws -> Data {
    let handle: FileHandle
    let source: String
    if path == "-" {
        handle = FileHandle.standardInput
        source = "standard input"
    } else {
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw CLIFailure(exitCode: .dataError, message: "cannot read \(path)")
        }
        handle = file
        source = path
    }
    defer { if path != "-" { try? handle.close() } }
    var data = Data()
    while data.count <= cap {
        let chunk: Data
        do {
            chunk = try handle.read(upToCount: min(1 << 20, cap + 1 - data.count)) ?? Data()
        } catch {
            throw CLIFailure(exitCode: .dataError, message: "cannot read \(source): \(sentence(for: error))")
        }
        if chunk.isEmpty { break }
        data.append(chunk)
    }
    if data.count > cap {
        throw TokenLedger.ValidationError(
            code: .inputTooLarge, field: "input",
            message: "\(source) is larger than the input cap of \(cap) bytes; nothing was read further. "
                + "Raise the cap with --max-input-bytes or \(InputLimitOptions.environmentName)")
    }
    return data
}

import Foundation
import TokenLedger

/// The first command-line argument that is not valid UTF-8, as a sentence, or `nil` when all are.
///
/// ArgumentParser (through `CommandLine.arguments`) decodes argv lossily: the bytes `ff fe` and
/// `fe ff` both become U+FFFD U+FFFD, so two different user ids would be booked as one. The raw
/// bytes are read here, before parsing, and any invalid argument is refused (exit 65).
func invalidUTF8Argument() -> String? {
    let argv = CommandLine.unsafeArgv
    for index in 1..<Int(CommandLine.argc) {
        guard let pointer = argv[index] else { continue }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: strlen(pointer))
        do {
            _ = try Validation.decodeUTF8(bytes, field: "argument \(index)")
        } catch {
            return error.message
        }
    }
    return nil
}

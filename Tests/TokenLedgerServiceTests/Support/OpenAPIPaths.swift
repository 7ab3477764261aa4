import Foundation

@testable import TokenLedgerService

/// The operations of the OpenAPI document (`paths:` → path → method), read line by line: the
/// document is written with two-space indents, paths at two and methods at four.
func documentedOperations() throws -> [(method: String, path: String)] {
    let text = String(decoding: try OpenAPIDocument.bytes(), as: UTF8.self)
    var operations: [(String, String)] = []
    var inPaths = false
    var path: String?
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if !line.hasPrefix(" ") && !line.isEmpty {
            inPaths = line == "paths:"
            continue
        }
        guard inPaths else { continue }
        if line.hasPrefix("  /"), !line.hasPrefix("   "), line.hasSuffix(":") {
            path = String(line.dropFirst(2).dropLast())
        } else if line.hasPrefix("    "), !line.hasPrefix("     "), let path {
            let name = line.trimmingCharacters(in: .whitespaces).dropLast()
            if ["get", "put", "post", "delete", "patch"].contains(String(name)) && line.hasSuffix(":") {
                operations.append((String(name).uppercased(), path))
            }
        }
    }
    return operations
}

import Foundation

/// The ACL users documented in docs/operations.md (its ```acl block), with test passwords
/// (`app-secret` for the line with `>APP_PASSWORD`, `admin-secret` for the other), so the
/// least-privilege tests run against exactly the lines the docs give.
///
/// - Throws: ``RedisTestServerError`` when the docs have no ```acl block.
public func documentedACLUsers() throws -> [(name: String, password: String, rules: String)] {
    let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/operations.md")
    let text = try String(contentsOf: docs, encoding: .utf8)
    guard let block = text.components(separatedBy: "```acl\n").dropFirst().first?.components(separatedBy: "```").first
    else { throw RedisTestServerError(message: "docs/operations.md has no ```acl block") }
    return block.split(separator: "\n").map { line in
        // user NAME on >PASSWORD rules…
        let words = line.split(separator: " ").map(String.init)
        let password = words[3] == ">APP_PASSWORD" ? "app-secret" : "admin-secret"
        return (name: words[1], password: password, rules: words[4...].joined(separator: " "))
    }
}

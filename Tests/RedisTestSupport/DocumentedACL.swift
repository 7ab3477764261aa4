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

/// The documented ACL users with each `(fragment, replacement)` applied to every user's rules: the
/// lines of a deployment that lacks some rules (a line from before they were documented).
///
/// - Throws: ``RedisTestServerError`` when a fragment is in no user's rules (the docs changed, and
///   the test would no longer remove what it means to).
public func documentedACLUsers(replacing edits: [(fragment: String, replacement: String)]) throws -> [(
    name: String, password: String, rules: String
)] {
    let users = try documentedACLUsers()
    for edit in edits where !users.contains(where: { $0.rules.contains(edit.fragment) }) {
        throw RedisTestServerError(message: "no documented ACL user has '\(edit.fragment)'")
    }
    return users.map { user in
        let rules = edits.reduce(user.rules) { $0.replacingOccurrences(of: $1.fragment, with: $1.replacement) }
        return (name: user.name, password: user.password, rules: rules)
    }
}

/// The rules docs/operations.md adds for rate limits (namespace `tl`), each as it appears in the
/// application's line.
public let documentedRateRules = [
    " +zcard +zcount", " %R~tl:*:rate %R~tl:*:rate-tokens", " (+zadd +zrem +pexpire ~tl:*:rate)",
    " (+hset +hdel +pexpire ~tl:*:rate-tokens)",
]

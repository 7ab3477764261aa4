import RedisClient
import Testing

@testable import TokenLedger

@Suite("Scope names and keys")
struct ScopeNameTests {
    @Test("scope names: team:/org:/user: prefixes; a group's keys never share a user's hash tag")
    func scopeNames() throws {
        #expect(try LedgerScope(naming: "team:research") == .team("research"))
        #expect(try LedgerScope(naming: "org:acme") == .org("acme"))
        #expect(try LedgerScope(naming: "alice") == .user("alice"))
        #expect(try LedgerScope(naming: "user:team:x") == .user("team:x"))
        #expect(LedgerScope.user("team:x").argument == "user:team:x")
        let keys = try LedgerKeys(namespace: "tl")
        let team = try keys.scope(.team("x"))
        let user = try keys.user("team:x")
        #expect(team.profile == "tl:{team:x}:profile")
        #expect(user.profile == "tl:{team%3Ax}:profile")
        #expect(HashSlot.slot(for: team.profile) == HashSlot.slot(for: team.leases))
        #expect(keys.scope(fromKey: team.cycle(named: "2026-03-01")) == .team("x"))
        #expect(keys.scope(fromKey: user.cycle(named: "2026-03-01")) == .user("team:x"))
        #expect(throws: ValidationError.self) { try LedgerScope(naming: "team:") }
    }

    @Test("a lease's groups are stored as team\\norg and read back in booking order")
    func groupsEncoding() {
        #expect(ScopeGroups(encoded: "t\no").scopes == [.team("t"), .org("o")])
        #expect(ScopeGroups(encoded: "\no").scopes == [.org("o")])
        #expect(ScopeGroups(encoded: "t\n").scopes == [.team("t")])
        #expect(ScopeGroups(encoded: "t\no\n2026-11-01").scopes == [.team("t"), .org("o")])
        #expect(ScopeGroups(encoded: "\no\n2026-11-01").scopes == [.org("o")])
        #expect(ScopeGroups(encoded: "").scopes.isEmpty)
        #expect(
            TokenRepository.scopedCallID(user: "a:b", callID: "c:1") == "a%3Ab:c:1",
            "the escaped user id holds no raw colon, so the first one ends it")
    }
}

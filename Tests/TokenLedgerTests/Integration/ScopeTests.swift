import Foundation
import RedisClient
import RedisTestSupport
import Synchronization
import Testing
import TokenLedger

@Suite("Scopes: teams and orgs")
struct ScopeTests {
    @Test("membership is set, shown and cleared; team and org ids are validated and the error names the field")
    func membership() async throws {
        try await withRepository { repository async throws in
            #expect(try await repository.membership(user: "alice") == Membership(user: "alice", team: nil, org: nil))
            var member = try await repository.setMembership(user: "alice", team: "research", org: nil)
            #expect(member == Membership(user: "alice", team: "research", org: nil))
            member = try await repository.setMembership(user: "alice", team: nil, org: "acme")
            #expect(member == Membership(user: "alice", team: "research", org: "acme"))
            #expect(try await repository.membership(user: "alice") == member)
            let error = await #expect(throws: ValidationError.self) {
                _ = try await repository.setMembership(user: "alice", team: "bad\u{7}team", org: nil)
            }
            #expect(error?.field == "team" && error?.code == .invalidUserID)
            #expect(try await repository.membership(user: "alice") == member)  // nothing changed
            member = try await repository.clearMembership(user: "alice")
            #expect(member == Membership(user: "alice", team: nil, org: nil))
        }
    }

    @Test("a record is booked to the user's team and org once each; a retry books nothing twice")
    func booking() async throws {
        try await withRepository { repository async throws in
            _ = try await repository.setMembership(user: "u1", team: "t", org: "o")
            _ = try await repository.setMembership(user: "u2", team: "t", org: nil)
            let usage = UsageRecord(inputTokens: 30, outputTokens: 12)
            #expect(try await repository.record(user: "u1", callID: "c1", usage: usage, at: testInstant).applied)
            #expect(!(try await repository.record(user: "u1", callID: "c1", usage: usage, at: testInstant).applied))
            // Another user's call with the same call id is another call in the team.
            #expect(try await repository.record(user: "u2", callID: "c1", usage: usage, at: testInstant).applied)
            let team = try await repository.usage(scope: .team("t"), at: testInstant)
            let org = try await repository.usage(scope: .org("o"), at: testInstant)
            #expect(team.totalTokens == 84 && team.calls == 2 && team.user == "team:t")
            #expect(org.totalTokens == 42 && org.calls == 1)
            #expect(try await repository.usage(user: "u1", at: testInstant).totalTokens == 42)
            // Reports list groups from their own index; the users' report lists only users.
            let teams = try await repository.report(scope: .team, at: testInstant)
            #expect(teams.users.map(\.user) == ["team:t"] && teams.totals.totalTokens == 84)
            let orgs = try await repository.report(scope: .org, at: testInstant)
            #expect(orgs.users.map(\.user) == ["org:o"] && orgs.totals.totalTokens == 42)
            let users = try await repository.report(at: testInstant)
            #expect(users.users.map(\.user).sorted() == ["u1", "u2"])
            #expect(try await repository.rebuildIndex(cycle: teams.cycle) == 2)
        }
    }

    @Test("a group denies: the denial names it and every hold already taken is released")
    func denialReleasesHolds() async throws {
        try await withRepository { repository async throws in
            _ = try await repository.setMembership(user: "u", team: "t", org: "o")
            try await repository.setLimit(user: "u", tokens: 1000)
            try await repository.setLimit(scope: .team("t"), tokens: 500)
            try await repository.setLimit(scope: .org("o"), tokens: 100)
            let denied = try await repository.reserve(user: "u", callID: "big", tokens: 200, at: testInstant)
            #expect(denied.status == .denied)
            #expect(denied.decision.deniedScope == "org:o" && denied.decision.limit == 100)
            #expect(denied.decision.denialReason?.hasPrefix("org:o: the token limit") == true)
            for scope in [LedgerScope.user("u"), .team("t"), .org("o")] {
                #expect(try await repository.usage(scope: scope, at: testInstant).reserved == 0, "\(scope)")
            }
            let check = try await repository.check(user: "u", tokens: 600, at: testInstant)
            #expect(!check.allowed && check.deniedScope == "team:t")
            let userDenial = try await repository.check(user: "u", tokens: 1001, at: testInstant)
            #expect(!userDenial.allowed && userDenial.deniedScope == "user:u")
            #expect(try await repository.check(user: "u", tokens: 100, at: testInstant).allowed)

            let admitted = try await repository.reserve(user: "u", callID: "ok", tokens: 80, at: testInstant)
            #expect(admitted.status == .admitted)
            for scope in [LedgerScope.user("u"), .team("t"), .org("o")] {
                #expect(try await repository.usage(scope: scope, at: testInstant).reserved == 80, "\(scope)")
            }
            #expect(try await repository.releaseLease(user: "u", callID: "ok").tokens == 80)
            for scope in [LedgerScope.user("u"), .team("t"), .org("o")] {
                #expect(try await repository.usage(scope: scope, at: testInstant).reserved == 0, "\(scope)")
            }
        }
    }

    @Test("a membership change applies to calls that start after it; a lease keeps the groups it was taken in")
    func membershipChange() async throws {
        try await withRepository { repository async throws in
            let usage = UsageRecord(inputTokens: 10, outputTokens: 5)
            _ = try await repository.setMembership(user: "u", team: "a", org: nil)
            _ = try await repository.record(user: "u", callID: "c1", usage: usage, at: testInstant)
            #expect(
                try await repository.reserve(user: "u", callID: "c2", tokens: 40, at: testInstant).status == .admitted)
            _ = try await repository.setMembership(user: "u", team: "b", org: nil)
            _ = try await repository.record(user: "u", callID: "c3", usage: usage, at: testInstant)
            // c2's lease was taken in team a: its settle books there and frees a's hold.
            let settled = try await repository.settle(user: "u", callID: "c2", usage: usage, at: testInstant)
            #expect(settled.applied && settled.releasedTokens == 40)
            let a = try await repository.usage(scope: .team("a"), at: testInstant)
            let b = try await repository.usage(scope: .team("b"), at: testInstant)
            #expect(a.totalTokens == 30 && a.calls == 2 && a.reserved == 0)
            #expect(b.totalTokens == 15 && b.calls == 1 && b.reserved == 0)
        }
    }

    @Test(
        "a settle that failed half-way (user and team booked, the org refused) books each scope exactly once on retry")
    func halfFailedSettle() async throws {
        try await withRepository { repository async throws in
            _ = try await repository.setMembership(user: "u", team: "t", org: "o")
            #expect(
                try await repository.reserve(user: "u", callID: "c", tokens: 50, at: testInstant).status == .admitted)
            // The org's cycle hash holds a string: its settle.lua fails before writing anything.
            let orgCycle = try repository.keys.scope(.org("o")).cycle(named: "2026-03-01")
            _ = try await repository.pool.send(SET(orgCycle, value: "broken"))
            let usage = UsageRecord(inputTokens: 20, outputTokens: 10)
            await #expect(throws: (any Error).self) {
                _ = try await repository.settle(user: "u", callID: "c", usage: usage, at: testInstant)
            }
            #expect(try await repository.usage(user: "u", at: testInstant).totalTokens == 30)
            #expect(try await repository.usage(scope: .team("t"), at: testInstant).totalTokens == 30)
            _ = try await repository.pool.send(DEL([orgCycle]))
            #expect(try await repository.usage(scope: .org("o"), at: testInstant).reserved == 50)  // still held
            // The retry: a duplicate for the user and the team, the org booked now and its lease dropped.
            for _ in 0..<2 {
                let retried = try await repository.settle(user: "u", callID: "c", usage: usage, at: testInstant)
                #expect(!retried.applied)
            }
            for scope in [LedgerScope.user("u"), .team("t"), .org("o")] {
                let scoped = try await repository.usage(scope: scope, at: testInstant)
                #expect(scoped.totalTokens == 30 && scoped.calls == 1 && scoped.reserved == 0, "\(scope)")
            }
        }
    }

    @Test("the pipelined recorder books groups too: awaited and fire-and-forget records, each counted once per scope")
    func pipelinedRecorderBooksGroups() async throws {
        try await withRepository { repository async throws in
            for index in 0..<8 { _ = try await repository.setMembership(user: "p\(index)", team: "pt", org: "po") }
            let recorder = UsageRecorder(repository: repository, options: .init(pipeline: .init(connections: 2)))
            async let recorderRunning: Void = recorder.run()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<32 {
                    group.addTask {
                        for index in stride(from: lane, to: 640, by: 32) {
                            let usage = UsageRecord(inputTokens: 3, outputTokens: 2)
                            if index % 2 == 0 {
                                let outcome = await recorder.record(
                                    user: "p\(index % 8)", callID: "c\(index)", usage: usage, at: testInstant)
                                guard case .applied = outcome else {
                                    throw LedgerError(code: .unexpectedReply, message: "\(index): \(outcome)")
                                }
                            } else {
                                await recorder.recordInBackground(
                                    user: "p\(index % 8)", callID: "c\(index)", usage: usage, at: testInstant)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            // Shutdown sends what is queued and runs the follow-ups (the groups' bookings) first.
            await recorder.shutdown()
            try await recorderRunning
            for scope in [LedgerScope.team("pt"), .org("po")] {
                let usage = try await repository.usage(scope: scope, at: testInstant)
                #expect(usage.totalTokens == 3200 && usage.calls == 640, "\(scope)")
            }
        }
    }

    @Test("2,000 concurrent reservations by 50 users of one team: the team never passes its limit; totals exact")
    func concurrentTeam() async throws {
        try await withRepository { repository async throws in
            try await concurrentTeamReservations(repository)
        }
    }
}

/// 2,000 reservations of 10 tokens by 50 users (user limits 1,000: room for all 40 of each) of a team
/// with a limit of 5,000, while a sampler checks used + reserved ≤ limit in the team and in users;
/// then every admitted lease is settled at 7 tokens and the totals are checked in every scope.
func concurrentTeamReservations(_ repository: TokenRepository, team: String = "big") async throws {
    let users = (0..<50).map { "member\($0)" }
    for user in users {
        _ = try await repository.setMembership(user: user, team: team, org: nil)
        try await repository.setLimit(user: user, tokens: 1000)
    }
    try await repository.setLimit(scope: .team(team), tokens: 5000)
    let done = Mutex(false)
    let sampler = Task {
        var samples = 0
        var violations: [String] = []
        while !done.withLock({ $0 }) || samples == 0 {
            for scope in [LedgerScope.team(team), .user(users[samples % 50])] {
                let usage = try await repository.usage(scope: scope, at: testInstant)
                if let limit = usage.limit, usage.totalTokens + usage.reserved > limit {
                    violations.append("\(scope): \(usage.totalTokens) + \(usage.reserved) > \(limit)")
                }
            }
            samples += 1
        }
        return (samples, violations)
    }
    let outcomes = try await withThrowingTaskGroup(of: (String, String, ReservationStatus, String?).self) { group in
        for index in 0..<2000 {
            let user = users[index % 50]
            group.addTask {
                let reservation = try await repository.reserve(
                    user: user, callID: "r\(index)", tokens: 10, at: testInstant)
                return (user, "r\(index)", reservation.status, reservation.decision.deniedScope)
            }
        }
        var all: [(String, String, ReservationStatus, String?)] = []
        for try await outcome in group { all.append(outcome) }
        return all
    }
    done.withLock { $0 = true }
    let (samples, violations) = try await sampler.value
    #expect(samples > 0)
    #expect(violations.isEmpty, "\(violations.prefix(5))")
    let admitted = outcomes.filter { $0.2 == .admitted }
    // The team is the only group and the users never deny, so the team's holds are never given back:
    // it admits exactly its limit's worth.
    #expect(admitted.count == 500)
    #expect(outcomes.filter { $0.2 == .denied }.allSatisfy { $0.3 == "team:\(team)" })
    var teamUsage = try await repository.usage(scope: .team(team), at: testInstant)
    #expect(teamUsage.reserved == 5000 && teamUsage.totalTokens == 0)
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (user, callID, _, _) in admitted {
            group.addTask {
                let result = try await repository.settle(
                    user: user, callID: callID, usage: UsageRecord(inputTokens: 5, outputTokens: 2), at: testInstant)
                guard result.applied, result.releasedTokens == 10 else {
                    throw LedgerError(code: .unexpectedReply, message: "settle of \(callID) gave \(result)")
                }
            }
        }
        try await group.waitForAll()
    }
    teamUsage = try await repository.usage(scope: .team(team), at: testInstant)
    #expect(teamUsage.totalTokens == 3500 && teamUsage.calls == 500 && teamUsage.reserved == 0)
    var perUser: [String: Int] = [:]
    for (user, _, _, _) in admitted { perUser[user, default: 0] += 7 }
    for user in users {
        let usage = try await repository.usage(user: user, at: testInstant)
        #expect(usage.totalTokens == perUser[user, default: 0] && usage.reserved == 0, "\(user)")
    }
}

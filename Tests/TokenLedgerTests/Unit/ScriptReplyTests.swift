import RedisClient
import Testing

@testable import TokenLedger

/// The shared reading of script replies (``ScriptReply``) and each script type's reply: unit tests,
/// no server.
@Suite("Script replies")
struct ScriptReplyTests {
    static let user = try! LedgerKeys(namespace: "replies").user("ann")

    static func record(_ kind: WriteKind = .record) -> RecordScript {
        RecordScript(
            kind: kind, user: "ann", userKeys: user, cycleName: "2025-01-01", assumedPolicy: "", callID: "c1",
            usage: UsageRecord(inputTokens: 3, outputTokens: 4), model: "m", defaultLimit: nil, thresholds: "80,100")
    }

    static func error(_ text: String) -> RedisReply { .error(RedisError(serverReply: text)) }

    @Test("each shared status is read once, with its argument")
    func statuses() throws {
        let cases: [(RedisReply, ScriptStatus)] = [
            (.array([.bulk(Array("policy".utf8)), .bulk(Array("monthly".utf8))]), .policy(stored: "monthly")),
            (.array([.bulk(Array("policy".utf8))]), .policy(stored: "")),
            (.array([.bulk(Array("applied".utf8)), .integer(7)]), .applied),
            (.array([.bulk(Array("duplicate".utf8)), .integer(7)]), .duplicate),
            (.array([.bulk(Array("late".utf8)), .integer(7)]), .late),
            (.array([.bulk(Array("retired".utf8)), .bulk(Array("2024-01-01".utf8))]), .retired(cycle: "2024-01-01")),
            (.array([.bulk(Array("ok".utf8)), .integer(-1)]), .ok),
            (.bulk(Array("unclosed".utf8)), .other("unclosed")),
        ]
        for (reply, expected) in cases {
            #expect(try ScriptReply.status(reply, script: .record).status == expected, "\(reply)")
        }
        #expect(
            try ScriptReply.status(.array([.bulk(Array("applied".utf8)), .integer(7)]), script: .record).values == [
                .integer(7)
            ])
        #expect(
            ScriptReply.storedPolicy(.array([.bulk(Array("policy".utf8)), .bulk(Array("weekly".utf8))])) == "weekly")
        #expect(ScriptReply.storedPolicy(.array([.integer(1), .integer(2)])) == nil)
    }

    @Test("a record's reply: retry with the stored policy, retired, applied, late, duplicate, index due")
    func recordReplies() throws {
        let script = Self.record(.settle)
        #expect(
            try script.decode(.array([.bulk(Array("policy".utf8)), .bulk(Array("monthly".utf8))]))
                == .policy(stored: "monthly"))
        #expect(try script.decode(.array([.bulk(Array("retired".utf8)), .bulk(Array("2024-01-01".utf8))])) == .retired)
        #expect(
            try script.decode(.array([.bulk(Array("applied".utf8)), .integer(10), .integer(2), .integer(5)]))
                == .counted(.applied, totalTokens: 10, calls: 2, releasedTokens: 5, indexDue: false, recordedTokens: 0))
        #expect(
            try script.decode(
                .array([.bulk(Array("applied".utf8)), .integer(10), .integer(2), .integer(5), .integer(1)]))
                == .counted(.applied, totalTokens: 10, calls: 2, releasedTokens: 5, indexDue: true, recordedTokens: 0))
        #expect(
            try script.decode(.array([.bulk(Array("late".utf8)), .integer(10), .integer(2)]))
                == .counted(.late, totalTokens: 10, calls: 2, releasedTokens: 0, indexDue: false, recordedTokens: 0))
        #expect(
            try script.decode(.array([.bulk(Array("duplicate".utf8)), .bulk(Array("10".utf8)), .integer(2)]))
                == .counted(
                    .duplicate, totalTokens: 10, calls: 2, releasedTokens: 0, indexDue: false, recordedTokens: 0))
        // The recorded total of a duplicate: settle.lua's sixth value, record.lua's fourth.
        #expect(
            try script.decode(
                .array([
                    .bulk(Array("duplicate".utf8)), .integer(10), .integer(2), .integer(0), .integer(0), .integer(7),
                ]))
                == .counted(
                    .duplicate, totalTokens: 10, calls: 2, releasedTokens: 0, indexDue: false, recordedTokens: 7))
        #expect(
            try Self.record().decode(
                .array([.bulk(Array("duplicate".utf8)), .integer(10), .integer(2), .integer(7), .integer(1)]))
                == .counted(.duplicate, totalTokens: 10, calls: 2, releasedTokens: 0, indexDue: true, recordedTokens: 7)
        )
        // The groups to book follow the numbers: the profile's (record.lua), or the lease's (settle.lua).
        #expect(
            try Self.record().decode(
                .array([
                    .bulk(Array("applied".utf8)), .integer(10), .integer(2), .integer(0), .integer(0),
                    .bulk(Array("t1".utf8)), .bulk(Array("".utf8)), .bulk(Array("profile".utf8)),
                ]))
                == .counted(
                    .applied, totalTokens: 10, calls: 2, releasedTokens: 0, indexDue: false, recordedTokens: 0,
                    groups: ScopeGroups(team: "t1"), groupsFromLease: false))
        #expect(
            try script.decode(
                .array([
                    .bulk(Array("applied".utf8)), .integer(10), .integer(2), .integer(4), .integer(0), .integer(0),
                    .bulk(Array("t1".utf8)), .bulk(Array("o1".utf8)), .bulk(Array("lease".utf8)),
                ]))
                == .counted(
                    .applied, totalTokens: 10, calls: 2, releasedTokens: 4, indexDue: false, recordedTokens: 0,
                    groups: ScopeGroups(team: "t1", org: "o1"), groupsFromLease: true))
        #expect(script.script == .settle && Self.record().script == .record)
        // The rate keys end both key lists (record.lua takes them as optional 8 and 9, after
        // lease-scopes and leases).
        #expect(script.keys.count == 13 && Self.record().keys.count == 9)
    }

    @Test("BADINPUT is a ValidationError naming the script type's field")
    func badInput() {
        #expect {
            try Self.record().decode(Self.error("BADINPUT input_tokens must be an integer"))
        } throws: { error in
            let error = error as? ValidationError
            return error?.code == .invalidTokenCount && error?.field == "usage"
                && error?.message.contains("input_tokens must be an integer") == true
        }
        #expect {
            try LockScript(key: "k", operation: .acquire, token: "t", milliseconds: 0)
                .decode(Self.error("BADINPUT the lock ttl must be a positive number of milliseconds"))
        } throws: { error in
            (error as? ValidationError)?.code == .invalidDuration && (error as? ValidationError)?.field == "lock_ttl"
        }
    }

    @Test("OVERFLOW is LedgerError.overflow naming whose counters")
    func overflow() {
        #expect {
            try Self.record().decode(Self.error("OVERFLOW the cycle total would pass 2^53 - 1 tokens"))
        } throws: { error in
            let error = error as? LedgerError
            return error?.code == .overflow && error?.message.hasPrefix("user 'ann' cycle 2025-01-01: ") == true
                && error?.message.contains("2^53 - 1") == true
        }
    }

    @Test("BADSTATE is corrupt data naming the key and value, without the script's digest")
    func badState() {
        let reply = Self.error("BADSTATE replies:{ann}:reserved holds -5 script: 0123abcd, on @user_script:12.")
        #expect {
            try ReleaseScript(userKeys: Self.user, callID: "c").decode(reply)
        } throws: { error in
            let error = error as? LedgerError
            return error?.code == .corruptData && error?.message.contains("replies:{ann}:reserved holds -5") == true
                && error?.message.contains("script:") == false
        }
    }

    @Test("WRONGTYPE is corrupt data (retrying cannot fix it), naming whose data it is")
    func wrongType() {
        #expect {
            try Self.record().decode(Self.error("WRONGTYPE Operation against a key holding the wrong kind of value"))
        } throws: { error in
            let error = error as? LedgerError
            return error?.code == .corruptData && ErrorCategory.of(error!) == .corruptData
                && error?.message.contains("wrong type") == true
        }
    }

    @Test("any other error reply is thrown as the RedisError it is")
    func otherErrors() {
        #expect {
            try UsageScript(
                userKeys: Self.user, cycle: CalendarDate(daysSince1970: 0), assumedPolicy: "*", defaultLimit: nil
            )
            .decode(Self.error("OOM command not allowed when used memory > 'maxmemory'."))
        } throws: { error in
            (error as? RedisError)?.serverCode == "OOM"
        }
    }

    @Test("a reply of a shape the script never returns is an unexpected reply, never a crash")
    func unexpectedShapes() {
        let shapes: [RedisReply] = [
            .null, .integer(1), .array([]), .array([.bulk(Array("applied".utf8))]),
            .array([.bulk(Array("applied".utf8)), .bulk(Array("x".utf8)), .integer(1)]),
            .array([.bulk(Array("ok".utf8)), .integer(1)]), .array([.bulk(Array("nonsense".utf8)), .integer(1)]),
        ]
        for reply in shapes {
            #expect(throws: LedgerError.self, "\(reply)") { try Self.record().decode(reply) }
        }
        #expect(throws: LedgerError.self) {
            try ReleaseScript(userKeys: Self.user, callID: "c").decode(.array([.integer(1)]))
        }
    }

    @Test("check, reserve, usage and close replies")
    func quotaAndSnapshotReplies() throws {
        let day = CalendarDate(daysSince1970: 0)
        let check = CheckScript(
            userKeys: Self.user, cycle: day, carried: [], assumedPolicy: "", tokens: 5, defaultLimit: 100)
        let decided = try check.decode(
            .array([
                .integer(0), .integer(10), .integer(3), .integer(-1), .integer(900), .integer(50), .integer(1000),
                .bulk(Array("usd".utf8)),
            ]))
        guard case .decided(let allowed, let counts) = decided else {
            Issue.record("not a decision: \(decided)")
            return
        }
        #expect(!allowed && counts.used == 10 && counts.reserved == 3 && counts.limit == nil)
        #expect(counts.spent == 900 && counts.reservedCost == 50 && counts.limitUSD == 1000 && counts.deniedBy == .usd)
        // A reply without the currency side (a script older than currency limits): zero and none.
        guard
            case .decided(true, let old) = try check.decode(
                .array([.integer(1), .integer(10), .integer(3), .integer(7)]))
        else {
            Issue.record("an old-shaped reply was not decoded")
            return
        }
        #expect(old.limit == 7 && old.spent == 0 && old.limitUSD == nil && old.deniedBy == nil)
        #expect(
            try check.decode(.array([.bulk(Array("policy".utf8)), .bulk(Array("p".utf8))])) == .policy(stored: "p"))
        // The rate keys follow the cost keys; the default tpm and rpm end the arguments.
        // (sent only when a default applies).
        #expect(check.keys.count == 9 && check.arguments.count == 5)
        var withDefaults = check
        withDefaults.defaultRPM = 60
        #expect(withDefaults.arguments.count == 7)

        let reserve = ReserveScript(
            userKeys: Self.user, cycle: day, carried: ["c"], assumedPolicy: "", callID: "x", tokens: 5,
            ttlMilliseconds: 1000, defaultLimit: nil)
        // The 12th argument is the call's 12-byte fingerprint field (its bucket is the third key).
        #expect(reserve.keys.count == 13 && reserve.arguments.count == 12)
        var limitedReserve = reserve
        limitedReserve.defaultTPM = 1000
        #expect(limitedReserve.arguments.count == 14)
        guard
            case .decided(.denied, let denied) = try reserve.decode(
                .array([
                    .bulk(Array("denied".utf8)), .integer(90), .integer(5), .integer(100), .integer(0), .integer(0),
                    .integer(-1), .bulk(Array("tokens".utf8)),
                ]))
        else {
            Issue.record("not a denial")
            return
        }
        #expect(denied.used == 90 && denied.reserved == 5 && denied.limit == 100 && denied.deniedBy == .tokens)
        #expect(denied.tpm == nil && denied.retryAfterMilliseconds == nil && denied.windowTokens == 0)
        // A rate denial: retry after, tpm, rpm (-1 none), window tokens and requests follow team and org.
        func rateDenial(_ kind: String, retry: Int) throws -> QuotaDecision? {
            let reply = try reserve.decode(
                .array([
                    .bulk(Array("denied".utf8)), .integer(0), .integer(0), .integer(-1), .integer(0), .integer(0),
                    .integer(-1), .bulk(Array(kind.utf8)), .bulk([]), .bulk([]), .integer(Int64(retry)), .integer(1000),
                    .integer(-1), .integer(900), .integer(4),
                ]))
            guard case .decided(.denied, let counts) = reply else { return nil }
            return counts.decision(allowed: false, user: "ann", cycle: day, requested: 200, requestedCost: Cost.zero)
        }
        let tpm = try #require(try rateDenial("tpm", retry: 4200))
        #expect(tpm.deniedBy == .tpm && tpm.retryAfterMilliseconds == 4200 && tpm.tpm == 1000 && tpm.rpm == nil)
        #expect(tpm.windowTokens == 900 && tpm.windowRequests == 4 && !tpm.rateNeverFits)
        #expect(QuotaExceededError(decision: tpm).retryAfter == .milliseconds(4200))
        let never = try #require(try rateDenial("tpm", retry: -1))
        #expect(never.retryAfterMilliseconds == nil && never.rateNeverFits)
        #expect(QuotaExceededError(decision: never).retryAfter == nil)
        #expect(try #require(try rateDenial("rpm", retry: 10)).deniedBy == .rpm)
        #expect(
            try reserve.decode(
                .array([
                    .bulk(Array("conflict".utf8)), .integer(0), .integer(5), .integer(100), .bulk(Array("7".utf8)),
                    .bulk(Array("30".utf8)),
                ])
            )
                == .conflict(held: "7", heldCost: "30"))

        let usage = UsageScript(userKeys: Self.user, cycle: day, assumedPolicy: "*", defaultLimit: nil)
        let snapshot = try usage.decode(
            .array([.bulk(Array("ok".utf8)), .integer(50), .integer(2), .array([]), .bulk(Array("".utf8))]))
        guard case .snapshot(let read) = snapshot else {
            Issue.record("not a snapshot: \(snapshot)")
            return
        }
        #expect(read.limit == 50 && read.reserved == 2 && read.storedPolicy == "" && read.pendingLate.isEmpty)

        let close = CloseScript(userKeys: Self.user, cycle: day, defaultLimit: nil, mark: true)
        #expect(close.keys.count == 6 && close.arguments.count == 2)
        #expect(throws: LedgerError.self) {
            try close.decode(.array([.bulk(Array("ok".utf8)), .integer(-1), .integer(0), .array([]), .bulk([])]))
        }
        let closed = try close.decode(
            .array([
                .bulk(Array("ok".utf8)), .integer(-1), .integer(0), .array([]), .bulk([]),
                .array([.bulk(Array("c".utf8))]),
            ]))
        #expect(closed.limit == nil && closed.pendingLate == [.bulk(Array("c".utf8))])
    }

    @Test("the registry holds every script file, each with common.lua in front")
    func registry() throws {
        let registry = try ScriptRegistry.shared.get()
        #expect(Set(registry.all.keys) == Set(ScriptName.allCases.map(\.rawValue)))
        let common = try ScriptRegistry.source("common")
        for name in ScriptName.allCases {
            #expect(registry[name].source.hasPrefix(common + "\n"), "\(name)")
            #expect(registry[name].source.hasSuffix(try ScriptRegistry.source(name.rawValue)), "\(name)")
        }
    }
}

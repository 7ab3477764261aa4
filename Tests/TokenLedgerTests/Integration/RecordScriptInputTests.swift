import Foundation
import RedisClient
import Testing

@testable import TokenLedger

/// The record and settle scripts check their usage counts themselves, so a hand-written or corrupted
/// call cannot write a bad counter. The check is one combined test on the hot path and a slower
/// search for the culprit on failure; these tests pin that the error names the bad count and that
/// nothing is written (the Swift side validates first, so only a direct call reaches these paths).
@Suite("Record script input checks")
struct RecordScriptInputTests {
    /// The five counts in ARGV order: input, output, cached, cache_write, reasoning.
    static let names = ["input", "output", "cached", "cache_write", "reasoning"]

    /// Runs `script` for user `u` with the given counts; ARGV as documented in record.lua.
    static func run(
        _ repository: TokenRepository, _ script: RedisScript, counts: [String], settle: Bool = false,
        money: [String] = ["-1", "-1"], fingerprint: [UInt8] = CallFingerprint(callID: "call-1").field
    )
        async throws -> RedisReply
    {
        let user = try repository.keys.user("u")
        let cycle = try CalendarDate(year: 2026, month: 11, day: 1)
        let bucket = user.callBucket(named: cycle.description, fingerprint: CallFingerprint(callID: "call-1"))
        var keys: [any RedisArgumentConvertible] = [user.profile, user.cycle(cycle), bucket, user.events]
        if settle {
            keys += [
                user.leases, user.leaseExpiry, user.reserved, user.late(named: cycle.description), user.leaseCosts,
                user.reservedCost, user.leaseScopes,
            ]
        } else {
            // record.lua: 5 late, 6 lease-scopes, 7 leases (the groups to book); no rate keys.
            keys += [user.late(named: cycle.description), user.leaseScopes, user.leases]
        }
        // ARGV 16 is the default currency limit (-1: none), 17 the fingerprint field.
        let arguments: [any RedisArgumentConvertible] =
            ["*", "call-1"] + counts + ["model", "-1", "80,100", "u", cycle.description, "0"] + money
            + ["-1", fingerprint]
        return try await repository.pool.evaluateMany([RedisScriptCall(script, keys: keys, arguments: arguments)])[0]
    }

    @Test(
        "a call fingerprint that is not 12 bytes is refused with BADINPUT naming it, and nothing is written",
        arguments: [false, true])
    func badFingerprint(settle: Bool) async throws {
        try await withRepository { repository async throws in
            let script = repository.scripts[settle ? .settle : .record]
            for bad in [[UInt8](), [UInt8](repeating: 7, count: 11), [UInt8](repeating: 7, count: 13)] {
                let reply = try await Self.run(
                    repository, script, counts: ["1", "1", "-1", "-1", "-1"], settle: settle, fingerprint: bad)
                guard case .error(let error) = reply else {
                    Issue.record("a \(bad.count)-byte fingerprint was accepted: \(reply)")
                    continue
                }
                #expect(error.serverCode == "BADINPUT" && error.message.contains("fingerprint"), "\(error.message)")
            }
            #expect(try await Self.keys(repository) == [])
        }
    }

    /// Every key of the namespace (nothing may be written by a refused call).
    static func keys(_ repository: TokenRepository) async throws -> [String] {
        let reply = try await repository.pool.send(RedisCommand("KEYS", repository.keys.namespace + ":*"))
        return (reply.array ?? []).compactMap(\.string)
    }

    @Test("a bad count is refused with BADINPUT naming it, and nothing is written", arguments: [false, true])
    func badCounts(settle: Bool) async throws {
        try await withRepository { repository async throws in
            let script = repository.scripts[settle ? .settle : .record]
            let good = ["10", "5", "-1", "-1", "-1"]
            let badValues = ["1.5", "nan", "inf", "-inf", "1e13", "-2", "x", ""]
            for position in 0..<5 {
                for bad in badValues {
                    var counts = good
                    counts[position] = bad
                    let reply = try await Self.run(repository, script, counts: counts, settle: settle)
                    guard case .error(let error) = reply else {
                        Issue.record("\(Self.names[position]) = '\(bad)' was accepted: \(reply)")
                        continue
                    }
                    #expect(error.serverCode == "BADINPUT")
                    #expect(
                        error.message.contains("\(Self.names[position]) must be"),
                        "\(Self.names[position]) = '\(bad)': \(error.message)")
                }
            }
            // Input and output must be reported (-1 is only allowed for the optional counts).
            for position in 0..<2 {
                var counts = good
                counts[position] = "-1"
                let reply = try await Self.run(repository, script, counts: counts, settle: settle)
                guard case .error(let error) = reply else {
                    Issue.record("\(Self.names[position]) = -1 was accepted: \(reply)")
                    continue
                }
                #expect(error.message.contains("input and output are required"), "\(error.message)")
            }
            #expect(try await Self.keys(repository) == [])

            // The bounds themselves are accepted, and the call is then recorded once.
            let reply = try await Self.run(
                repository, script, counts: ["1000000000000", "0", "0", "-1", "1000000000000"], settle: settle)
            #expect(reply.array?.first?.string == "applied", "\(reply)")
            #expect(reply.array?[1].int == 1_000_000_000_000)
            let again = try await Self.run(repository, script, counts: ["1", "1", "-1", "-1", "-1"], settle: settle)
            #expect(again.array?.first?.string == "duplicate", "\(again)")
        }
    }

    @Test(
        "a bad cost or reported cost is refused with BADINPUT naming it, and nothing is written",
        arguments: [false, true])
    func badMoney(settle: Bool) async throws {
        try await withRepository { repository async throws in
            let script = repository.scripts[settle ? .settle : .record]
            let counts = ["10", "5", "-1", "-1", "-1"]
            let badValues = ["1.5", "nan", "inf", "-2", "9007199254740992", "x", ""]
            for (position, name) in ["cost_nano", "reported_cost_nano"].enumerated() {
                for bad in badValues {
                    var money = ["-1", "-1"]
                    money[position] = bad
                    let reply = try await Self.run(repository, script, counts: counts, settle: settle, money: money)
                    guard case .error(let error) = reply else {
                        Issue.record("\(name) = '\(bad)' was accepted: \(reply)")
                        continue
                    }
                    #expect(error.serverCode == "BADINPUT")
                    #expect(error.message.contains("\(name) must be"), "\(name) = '\(bad)': \(error.message)")
                }
            }
            #expect(try await Self.keys(repository) == [])

            // The bounds are accepted: 2^53 - 1 nano-USD, and -1 (unpriced, not reported).
            let reply = try await Self.run(
                repository, script, counts: counts, settle: settle, money: ["9007199254740991", "0"])
            #expect(reply.array?.first?.string == "applied", "\(reply)")
            let cycle = try repository.keys.user("u").cycle(try CalendarDate(year: 2026, month: 11, day: 1))
            let stored = try await repository.pool.send(
                HMGET(cycle, fields: ["cost_nano", "unpriced_calls", "reported_cost_nano"]))
            #expect(stored == ["cost_nano": "9007199254740991", "unpriced_calls": "0", "reported_cost_nano": "0"])
        }
    }
}

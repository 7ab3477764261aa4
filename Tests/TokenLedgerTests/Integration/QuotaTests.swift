import Foundation
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

@Suite("Quota leases")
struct QuotaTests {
    @Test("500 concurrent reservations of 10 against 1,000 admit exactly 100; settling at 7 frees room for 30 more")
    func concurrentReservations() async throws {
        try await withRepository { repository async throws in
            try await repository.setLimit(user: "q", tokens: 1000)
            let statuses = try await withThrowingTaskGroup(of: ReservationStatus.self) { group in
                for index in 0..<500 {
                    group.addTask {
                        try await repository.reserve(user: "q", callID: "r\(index)", tokens: 10, at: testInstant).status
                    }
                }
                var all: [ReservationStatus] = []
                for try await status in group { all.append(status) }
                return all
            }
            #expect(statuses.filter { $0 == .admitted }.count == 100)
            #expect(statuses.filter { $0 == .denied }.count == 400)
            var check = try await repository.check(user: "q", at: testInstant)
            #expect(check.used == 0 && check.reserved == 1000 && check.remaining == 0)

            // Settle every admitted lease with 7 actual tokens. Which call ids won is found by retrying
            // the reservation: an admitted id answers `held`.
            var admitted: [String] = []
            for index in 0..<500
            where try await repository.reserve(user: "q", callID: "r\(index)", tokens: 10, at: testInstant).status
                == .held
            {
                admitted.append("r\(index)")
            }
            #expect(admitted.count == 100)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for id in admitted {
                    group.addTask {
                        let result = try await repository.settle(
                            user: "q", callID: id, usage: UsageRecord(inputTokens: 5, outputTokens: 2), at: testInstant)
                        guard result.applied, result.releasedTokens == 10 else {
                            throw LedgerError(code: .unexpectedReply, message: "settle of \(id) gave \(result)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            check = try await repository.check(user: "q", at: testInstant)
            #expect(check.used == 700 && check.reserved == 0 && check.remaining == 300)
            // Settling again changes nothing.
            let again = try await repository.settle(
                user: "q", callID: admitted[0], usage: UsageRecord(inputTokens: 5, outputTokens: 2), at: testInstant)
            #expect(!again.applied)
            #expect(try await repository.usage(user: "q", at: testInstant).totalTokens == 700)

            let more = try await withThrowingTaskGroup(of: ReservationStatus.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        try await repository.reserve(user: "q", callID: "more\(index)", tokens: 10, at: testInstant)
                            .status
                    }
                }
                var all: [ReservationStatus] = []
                for try await status in group { all.append(status) }
                return all
            }
            #expect(more.filter { $0 == .admitted }.count == 30)
            // A settled call id cannot take a new lease.
            #expect(
                try await repository.reserve(user: "q", callID: admitted[0], tokens: 1, at: testInstant).status
                    == .settled)
        }
    }

    @Test("an expired lease no longer counts; release frees a live one")
    func expiryAndRelease() async throws {
        try await withRepository { repository async throws in
            try await repository.setLimit(user: "e", tokens: 100)
            // A live lease blocks; releasing it frees the room (no timing involved).
            #expect(
                try await repository.reserve(user: "e", callID: "long", tokens: 60, at: testInstant).status == .admitted
            )
            #expect(
                try await repository.reserve(user: "e", callID: "blocked", tokens: 60, at: testInstant).status
                    == .denied)
            #expect(try await repository.check(user: "e", tokens: 60, at: testInstant).allowed == false)
            #expect(try await repository.release(user: "e", callID: "long") == 60)
            #expect(try await repository.release(user: "e", callID: "long") == 0)
            #expect(try await repository.check(user: "e", at: testInstant).reserved == 0)

            // A short lease counts while it lives and stops counting once it has expired.
            #expect(
                try await repository.reserve(
                    user: "e", callID: "short", tokens: 60, ttl: .milliseconds(100), at: testInstant
                ).status == .admitted)
            // The lease expires on the server's clock: wait until it is seen gone.
            #expect(try await waitUntil { try await repository.check(user: "e", at: testInstant).reserved == 0 })
            #expect(try await repository.check(user: "e", tokens: 60, at: testInstant).allowed == true)
            #expect(try await repository.check(user: "e", at: testInstant).reserved == 0)
            #expect(
                try await repository.reserve(user: "e", callID: "next", tokens: 60, at: testInstant).status == .admitted
            )
            #expect(try await repository.check(user: "e", at: testInstant).reserved == 60)
            // A settle whose lease expired still records the usage.
            let settled = try await repository.settle(
                user: "e", callID: "short", usage: UsageRecord(inputTokens: 30, outputTokens: 0), at: testInstant)
            #expect(settled.applied && settled.releasedTokens == 0)
            #expect(try await repository.usage(user: "e", at: testInstant).totalTokens == 30)
        }
    }

    @Test("no limit means unlimited; the default limit covers users without one; clear falls back to it")
    func defaultLimit() async throws {
        try await withRepository { repository async throws in
            var decision = try await repository.check(user: "d", tokens: 1_000_000, at: testInstant)
            #expect(decision.allowed && decision.limit == nil && decision.remaining == nil)
            try await repository.setDefaultLimit(500)
            decision = try await repository.check(user: "d", tokens: 501, at: testInstant)
            #expect(!decision.allowed && decision.limit == 500)
            try await repository.setLimit(user: "d", tokens: 2000)
            #expect(try await repository.check(user: "d", tokens: 501, at: testInstant).allowed)
            let limits = try await repository.limit(user: "d")
            #expect(limits.own == 2000 && limits.default == 500)
            try await repository.clearLimit(user: "d")
            #expect(try await repository.check(user: "d", tokens: 501, at: testInstant).allowed == false)
            try await repository.setDefaultLimit(nil)
            #expect(try await repository.check(user: "d", tokens: 501, at: testInstant).allowed)
        }
    }
}

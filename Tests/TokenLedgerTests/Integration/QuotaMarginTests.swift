import Foundation
import Testing
import TokenLedger

@Suite("QuotaGuard reserves heuristic estimates with the reservation margin")
struct QuotaMarginTests {
    private static let prompt = String(
        repeating: "Reservations are made before the call, so an estimate that is low lets a user overspend. ",
        count: 20)

    /// The tokens reserved while the guarded call runs, with this counting.
    private func reserved(_ counting: TokenCounting, user: String, repository: TokenRepository) async throws -> Int {
        try await repository.setLimit(user: user, tokens: 1_000_000)
        let guardian = QuotaGuard(repository: repository, counting: counting)
        return try await guardian.run(
            context: LLMCallContext(runID: "margin-\(user)", user: user, model: "gpt-4o"),
            messages: [ChatMessage(role: "user", content: Self.prompt)], maxOutputTokens: 100
        ) {
            let reserved = try await repository.check(user: user).reserved
            return (reserved, UsageRecord(inputTokens: 10, outputTokens: 10))
        }
    }

    @Test("the measured margin by default, none when configured off; the settled usage is the actual one")
    func margin() async throws {
        try await withRepository { repository async throws in
            let messages = [ChatMessage(role: "user", content: Self.prompt)]
            let estimator = HeuristicTokenEstimator()
            let unbiased = estimator.countTokens(in: messages)
            let withMargin = try await reserved(.heuristic, user: "measured", repository: repository)
            #expect(withMargin == estimator.reservationCount(in: messages) + 100)
            #expect(withMargin > unbiased + 100, "the measured margin adds tokens to a long prompt")
            let off = try await reserved(
                TokenCounting(directory: nil, reservationMargin: .none), user: "off", repository: repository)
            #expect(off == unbiased + 100)
            let fixed = try await reserved(
                TokenCounting(directory: nil, reservationMargin: .percent(20)), user: "fixed", repository: repository)
            #expect(fixed > withMargin, "20 % is more than the measured margin of English text")
            // Billing is what the call reports, whatever was reserved.
            #expect(try await repository.check(user: "measured").used == 20)
            #expect(try await repository.check(user: "measured").reserved == 0)
        }
    }
}

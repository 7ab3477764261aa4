import Foundation
import Hummingbird
import TokenLedger

extension TokenLedgerServer {
    /// The fields a settle takes (made once, not per request).
    static let settleFields = countFields.union(["user", "model", "provider"])

    /// Quota check, reserve, settle and release: role app.
    func quotaRoutes() -> [(Route, Handler)] {
        [
            (
                Route(method: .post, path: "/v1/quota/check", access: .app),
                { request, _ in try await self.check(request) }
            ),
            (
                Route(method: .post, path: "/v1/reservations", access: .app),
                { request, _ in try await self.reserve(request) }
            ),
            (
                Route(method: .post, path: "/v1/reservations/{call_id}/settle", access: .app, spoolable: true),
                { request, context in try await self.settle(request, context) }
            ),
            (
                Route(method: .delete, path: "/v1/reservations/{call_id}", access: .app),
                { request, context in try await self.release(request, context) }
            ),
        ]
    }

    /// `{user, tokens?}` → 200 with the decision (`allowed` true or false). Read-only.
    func check(_ request: Request) async throws -> Response {
        let body = try await body(request, allowing: ["user", "tokens"])
        let user = try body.user()
        let tokens = try body.optionalCount("tokens") ?? 0
        let decision = try await repository.check(user: user, tokens: tokens)
        metrics.decision(allowed: decision.allowed)
        return try JSONResponse.make(decision)
    }

    /// The longest lease a reservation may ask for, in seconds (7 days).
    static let maximumTTLSeconds = 7 * 86_400

    /// `{user, call_id, tokens, ttl_seconds?}` → 201 the lease (`status` admitted), 200 when the
    /// call id already holds it (`held`) or was settled (`settled`); 429 with the decision when
    /// denied; 409 when the call id holds a lease of another amount.
    func reserve(_ request: Request) async throws -> Response {
        let body = try await body(request, allowing: ["user", "call_id", "tokens", "ttl_seconds"])
        let user = try body.user()
        let callID = try body.callID()
        let tokens = try body.count("tokens")
        let ttl = try body.optionalInteger("ttl_seconds", in: 1...Self.maximumTTLSeconds, code: .invalidDuration)
        let reservation = try await repository.reserve(
            user: user, callID: callID, tokens: tokens, ttl: ttl.map { .seconds($0) })
        metrics.decision(allowed: reservation.status != .denied)
        switch reservation.status {
        case .denied:
            throw QuotaDenial(
                decision: reservation.decision, retryAfterSeconds: await secondsUntilCycleEnds(user: user))
        case .admitted:
            return try JSONResponse.make(
                DecisionWithCall(decision: reservation.decision, status: reservation.status.rawValue, callID: callID),
                status: .created)
        default:
            return try JSONResponse.make(
                DecisionWithCall(decision: reservation.decision, status: reservation.status.rawValue, callID: callID))
        }
    }

    /// Seconds until the user's running cycle ends (when the limit resets); `nil` when unknown.
    func secondsUntilCycleEnds(user: String) async -> Int? {
        guard let (policy, _) = try? await repository.cyclePolicy(user: user) else { return nil }
        let seconds = policy.cycle(containing: Date()).endInstant.timeIntervalSinceNow.rounded(.up)
        return seconds.isFinite ? max(1, Int(seconds)) : nil
    }

    /// `{user, input_tokens, output_tokens, …}` → 200 the record result with `call_id` and
    /// `released_tokens`; 409 `call_conflict` when the call id was already recorded with another
    /// total (nothing changes, the lease stays); 202 `{"spooled":true}` when spooled.
    func settle(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let callID = try PathInput.callID(context)
        let body = try await body(request, allowing: Self.settleFields)
        let user = try body.user()
        let usage = try body.usage()
        let outcome = await recorder.settle(
            user: user, callID: callID, usage: usage, model: try body.model(), provider: try body.provider())
        return try recordResponse(outcome, user: user, callID: callID, settle: true)
    }

    /// `DELETE /v1/reservations/{call_id}?user=U` → `{"call_id","released_tokens","user"}`.
    func release(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let callID = try PathInput.callID(context)
        let query = try PathInput.query(request)
        try PathInput.refuseUnknown(query, allowed: ["user"])
        guard let bytes = query["user"] else {
            throw ServiceError(.missingField, field: "user", "the query parameter user is required")
        }
        let user = try PathInput.userID(bytes: bytes, field: "user")
        let released = try await repository.release(user: user, callID: callID)
        return try JSONResponse.make(ReleaseOutput(user: user, callID: callID, releasedTokens: released))
    }
}

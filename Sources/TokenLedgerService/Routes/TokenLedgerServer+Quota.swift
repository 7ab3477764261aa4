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

    /// `{user, tokens?, model?, max_output_tokens?, usd?}` → 200 with the decision (`allowed` true or
    /// false, `denied_by` naming the limit). Read-only. `model` prices the estimate as reserve does.
    func check(_ request: Request) async throws -> Response {
        let body = try await body(request, allowing: ["user", "tokens", "model", "max_output_tokens", "usd"])
        let user = try body.user()
        let (tokens, cost) = try await estimate(body, tokens: try body.optionalCount("tokens") ?? 0)
        let decision = try await repository.check(user: user, tokens: tokens, cost: cost)
        metrics.decision(allowed: decision.allowed)
        return try JSONResponse.make(decision)
    }

    /// The longest lease a reservation may ask for, in seconds (7 days).
    static let maximumTTLSeconds = 7 * 86_400

    /// `{user, call_id, tokens, ttl_seconds?, model?, max_output_tokens?, usd?}` → 201 the lease
    /// (`status` admitted), 200 when the call id already holds it (`held`) or was settled
    /// (`settled`); 429 with the decision when denied (`denied_by` names the limit; `Retry-After` the
    /// seconds until a rate limit admits it, or until the cycle ends); 409 when the
    /// call id holds a lease of other amounts. `model` prices the estimate (`tokens` as input,
    /// `max_output_tokens` as output, and `tokens + max_output_tokens` reserved); `usd` gives the cost.
    func reserve(_ request: Request) async throws -> Response {
        let body = try await body(
            request, allowing: ["user", "call_id", "tokens", "ttl_seconds", "model", "max_output_tokens", "usd"])
        let user = try body.user()
        let callID = try body.callID()
        let ttl = try body.optionalInteger("ttl_seconds", in: 1...Self.maximumTTLSeconds, code: .invalidDuration)
        let (tokens, cost) = try await estimate(body, tokens: try body.count("tokens"))
        let reservation = try await repository.reserve(
            user: user, callID: callID, tokens: tokens, cost: cost, ttl: ttl.map { .seconds($0) })
        metrics.decision(allowed: reservation.status != .denied)
        switch reservation.status {
        case .denied:
            throw QuotaDenial(
                decision: reservation.decision, retryAfterSeconds: await retryAfterSeconds(reservation.decision))
        case .admitted:
            return try JSONResponse.make(
                DecisionWithCall(decision: reservation.decision, status: reservation.status.rawValue, callID: callID),
                status: .created)
        default:
            return try JSONResponse.make(
                DecisionWithCall(decision: reservation.decision, status: reservation.status.rawValue, callID: callID))
        }
    }

    /// The `Retry-After` of a denial, in seconds: a rate denial's `retry_after_ms` rounded up (`nil`
    /// when the request never fits its tpm limit), else the seconds until the user's cycle ends.
    func retryAfterSeconds(_ decision: QuotaDecision) async -> Int? {
        guard let kind = decision.deniedBy, kind.isRate else { return await secondsUntilCycleEnds(user: decision.user) }
        return decision.retryAfterMilliseconds.map { max(1, ($0 + 999) / 1000) }
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
        let released = try await repository.releaseLease(user: user, callID: callID)
        return try JSONResponse.make(
            ReleaseOutput(user: user, callID: callID, releasedTokens: released.tokens, releasedUSD: released.cost))
    }

    /// The tokens and cost a check or reservation asks for: `usd` as given, or `model`'s price of
    /// `tokens` input and `max_output_tokens` output tokens (a model without a price: zero, by tokens
    /// only), or zero.
    func estimate(_ body: JSONBody, tokens: Int) async throws -> (tokens: Int, cost: Cost) {
        let usd = try body.optionalUSD("usd")
        let model = try body.optionalString("model")
        let output = try body.optionalCount("max_output_tokens")
        if usd != nil && model != nil {
            throw ValidationError(
                code: .invalidLimit, field: "usd",
                message: "usd and model exclude each other: give the amount or the model")
        }
        if output != nil && model == nil {
            throw ServiceError(.missingField, field: "model", "max_output_tokens needs model (it prices the output)")
        }
        if let usd { return (tokens, usd) }
        guard let model else { return (tokens, .zero) }
        try Validation.validateModel(model)
        let total = tokens + (output ?? 0)
        try Validation.validateTokenCount(total, field: "tokens")
        let cost = try await repository.estimateCost(model: model, inputTokens: tokens, maxOutputTokens: output ?? 0)
        return (total, cost ?? .zero)
    }
}

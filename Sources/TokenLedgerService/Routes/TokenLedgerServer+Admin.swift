import Foundation
import Hummingbird
import TokenLedger

extension TokenLedgerServer {
    /// Limits (reading one too, as SPEC's table says) and cycle policies: role admin.
    func adminRoutes() -> [(Route, Handler)] {
        [
            (
                Route(method: .get, path: "/v1/users/{user}/limit", access: .admin),
                { request, context in try await self.limit(request, context) }
            ),
            (
                Route(method: .put, path: "/v1/users/{user}/limit", access: .admin),
                { request, context in try await self.setLimit(request, context) }
            ),
            (
                Route(method: .delete, path: "/v1/users/{user}/limit", access: .admin),
                { request, context in try await self.clearLimit(request, context) }
            ),
            (
                Route(method: .put, path: "/v1/users/{user}/cycle-policy", access: .admin),
                { request, context in try await self.setCyclePolicy(request, context) }
            ),
        ]
    }

    /// `GET /v1/users/{user}/limit` → `{"limit","limit_usd","source","usd_source","user"}`: each
    /// limit the user's own (`user`), the default (`default`) or none (`none`, null).
    func limit(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let user = try PathInput.user(context)
        try PathInput.refuseUnknown(try PathInput.query(request), allowed: [])
        return try JSONResponse.make(
            LimitOutput(
                user: user, limits: try await repository.limit(user: user),
                currencyLimits: try await repository.currencyLimit(user: user)))
    }

    /// `PUT /v1/users/{user}/limit` `{"tokens": N, "usd": "25"}` (either or both; `usd` a decimal
    /// string of USD with at most nine decimals, or a whole number) → `{"limit":N,"source":"user",
    /// "user"}`, with `limit_usd` and `usd_source` when `usd` was given. Both are checked before
    /// either is stored.
    func setLimit(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let user = try PathInput.user(context)
        let body = try await body(request, allowing: ["tokens", "usd"])
        let tokens = try body.optionalInteger("tokens", in: 0...Validation.maximumLimit, code: .invalidLimit)
        let usd = try body.optionalUSD("usd")
        guard tokens != nil || usd != nil else {
            throw ServiceError(.missingField, field: "tokens", "tokens or usd is required")
        }
        if let tokens { try await repository.setLimit(user: user, tokens: tokens) }
        if let usd { try await repository.setCurrencyLimit(user: user, usd: usd) }
        var shown = LimitOutput(user: user, limit: tokens, source: tokens == nil ? "unchanged" : "user")
        if let usd { shown.currency = (limit: Optional(usd), source: "user") }
        return try JSONResponse.make(shown)
    }

    /// `DELETE /v1/users/{user}/limit[?only=tokens|usd]` → `{"limit":null,"limit_usd":null,
    /// "source":"cleared","usd_source":"cleared","user"}`: both of the user's own limits are cleared
    /// (the defaults apply again), or only the one `only` names.
    func clearLimit(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let user = try PathInput.user(context)
        let query = try PathInput.query(request)
        try PathInput.refuseUnknown(query, allowed: ["only"])
        let only = query["only"].map { String(decoding: $0, as: UTF8.self) }
        guard only == nil || only == "tokens" || only == "usd" else {
            throw ValidationError(
                code: .invalidLimit, field: "only", message: "only must be tokens or usd (without it, both are cleared)"
            )
        }
        if only != "usd" { try await repository.clearLimit(user: user) }
        if only != "tokens" { try await repository.clearCurrencyLimit(user: user) }
        var shown = LimitOutput(user: user, limit: nil, source: only == "usd" ? "unchanged" : "cleared")
        if only != "tokens" { shown.currency = (limit: nil, source: "cleared") }
        return try JSONResponse.make(shown)
    }

    /// `PUT /v1/users/{user}/cycle-policy` `{"period", "anchor_day"?, "timezone"?}` → the CLI's
    /// `cycle set` JSON. `anchor_day` is 1–31 (monthly) or 1–7 / a weekday name (weekly).
    func setCyclePolicy(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let user = try PathInput.user(context)
        let body = try await body(request, allowing: ["period", "anchor_day", "timezone"])
        let period = try body.string("period")
        var anchor: String?
        switch body.fields["anchor_day"] {
        case nil, .null?: anchor = nil
        case .integer(let day)?: anchor = String(day)
        case .string(let text)?: anchor = text
        case let other?:
            throw ServiceError(
                .wrongType, field: "anchor_day", "anchor_day must be a number or a weekday name, not \(other.typeName)")
        }
        let timezone = try body.optionalString("timezone")
        let policy: BillingCyclePolicy
        do {
            policy = try BillingCyclePolicy(periodName: period, anchor: anchor, timeZone: timezone)
        } catch var error {
            // The library names its argument `anchor`; the body's field is `anchor_day`.
            if error.field == "anchor" { error.field = "anchor_day" }
            throw error
        }
        try await repository.setCyclePolicy(user: user, policy: policy)
        return try JSONResponse.make(
            PolicyOutput(user: user, policy: policy, source: "user", cycle: policy.cycle(containing: Date())))
    }
}

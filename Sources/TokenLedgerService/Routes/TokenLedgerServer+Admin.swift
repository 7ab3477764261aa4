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

    /// `GET /v1/users/{user}/limit` → `{"limit","source","user"}`: the user's own limit (`user`),
    /// the default (`default`) or none (`none`, limit null).
    func limit(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let user = try PathInput.user(context)
        try PathInput.refuseUnknown(try PathInput.query(request), allowed: [])
        return try JSONResponse.make(LimitOutput(user: user, limits: try await repository.limit(user: user)))
    }

    /// `PUT /v1/users/{user}/limit` `{"tokens": N}` → `{"limit":N,"source":"user","user"}`.
    func setLimit(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let user = try PathInput.user(context)
        let body = try await body(request, allowing: ["tokens"])
        let tokens = try body.integer("tokens", in: 0...Validation.maximumLimit, code: .invalidLimit)
        try await repository.setLimit(user: user, tokens: tokens)
        return try JSONResponse.make(LimitOutput(user: user, limit: tokens, source: "user"))
    }

    /// `DELETE /v1/users/{user}/limit` → `{"limit":null,"source":"cleared","user"}` (the default
    /// applies again).
    func clearLimit(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let user = try PathInput.user(context)
        try PathInput.refuseUnknown(try PathInput.query(request), allowed: [])
        try await repository.clearLimit(user: user)
        return try JSONResponse.make(LimitOutput(user: user, limit: nil, source: "cleared"))
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

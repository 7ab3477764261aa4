import Foundation
import Hummingbird
import TokenLedger

extension TokenLedgerServer {
    /// Rate limits per scope (`tpm`, `rpm`): role admin, as the CLI's `rate get/set/clear`.
    func rateRoutes() -> [(Route, Handler)] {
        [
            (
                Route(method: .get, path: "/v1/scopes/{scope}/rate", access: .admin),
                { request, context in try await self.rateLimits(request, context) }
            ),
            (
                Route(method: .put, path: "/v1/scopes/{scope}/rate", access: .admin),
                { request, context in try await self.setRateLimits(request, context) }
            ),
            (
                Route(method: .delete, path: "/v1/scopes/{scope}/rate", access: .admin),
                { request, context in try await self.clearRateLimits(request, context) }
            ),
        ]
    }

    /// The scope of the path: `user:U`, `team:T`, `org:O` or a plain user id, percent-encoded.
    static func scope(_ context: ServiceRequestContext) throws -> LedgerScope {
        guard let raw = context.parameters.get("scope") else {
            throw ServiceError(.invalidParameter, field: "scope", "the path has no scope")
        }
        let bytes = try PathInput.percentDecoded(Substring(raw), field: "scope")
        return try LedgerScope(naming: try Validation.decodeUserID(bytes, field: "scope"), field: "scope")
    }

    /// `GET /v1/scopes/{scope}/rate` → the CLI's `rate get` JSON.
    func rateLimits(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let scope = try Self.scope(context)
        try PathInput.refuseUnknown(try PathInput.query(request), allowed: [])
        return try JSONResponse.make(try await repository.rateLimits(scope: scope))
    }

    /// `PUT /v1/scopes/{scope}/rate` `{"tpm": N, "rpm": M}` (either or both, 1 to 10^12) → the
    /// scope's limits after the change. Both are checked before either is stored.
    func setRateLimits(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let scope = try Self.scope(context)
        let body = try await body(request, allowing: ["tpm", "rpm"])
        let range = 1...TokenRepository.maximumRateLimit
        let tpm = try body.optionalInteger("tpm", in: range, code: .invalidLimit)
        let rpm = try body.optionalInteger("rpm", in: range, code: .invalidLimit)
        guard tpm != nil || rpm != nil else {
            throw ServiceError(.missingField, field: "tpm", "tpm or rpm is required")
        }
        return try JSONResponse.make(try await repository.setRateLimit(scope: scope, tpm: tpm, rpm: rpm))
    }

    /// `DELETE /v1/scopes/{scope}/rate` → the scope's limits after removing its own (the defaults
    /// apply again to a user).
    func clearRateLimits(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let scope = try Self.scope(context)
        try PathInput.refuseUnknown(try PathInput.query(request), allowed: [])
        return try JSONResponse.make(try await repository.clearRateLimit(scope: scope))
    }
}

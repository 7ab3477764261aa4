import Foundation
import Hummingbird
import TokenLedger

extension TokenLedgerServer {
    /// `POST /v1/usage` (record) and `POST /v1/extract` (nothing stored): role app.
    func usageRoutes() -> [(Route, Handler)] {
        [
            (
                Route(method: .post, path: "/v1/usage", access: .app, spoolable: true),
                { request, _ in try await self.record(request) }
            ),
            (
                Route(method: .post, path: "/v1/extract", access: .app),
                { request, _ in try await self.extract(request) }
            ),
        ]
    }

    static let countFields: Set<String> = [
        "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens",
        "reasoning_tokens",
    ]

    /// The fields `POST /v1/usage` takes (made once, not per request).
    static let recordFields = countFields.union(["user", "call_id", "model", "provider", "cycle", "response"])

    /// Records one call: the counts, or a raw provider `response` read by the CLI's extractor.
    /// 200 with the record result (`applied` false for a repeated call id with the same total;
    /// `cost_usd` the event's cost as priced when it was built, `null` when its model has no price);
    /// 409 `call_conflict` for a repeated call id with another total (nothing changes); 202
    /// `{"call_id","spooled":true,"user"}` when Redis could not take it in time and a spool is
    /// configured; 503 when Redis is unavailable without a spool.
    func record(_ request: Request) async throws -> Response {
        let body = try await body(request, allowing: Self.recordFields)
        let user = try body.user()
        let callID = try body.callID()
        var model = try body.model()
        var provider = try body.provider()
        let cycle = try body.optionalString("cycle").map { try Validation.parseCycleDate($0, field: "cycle") }
        let usage: UsageRecord
        if body.has("response") {
            if let field = Self.countFields.sorted().first(where: body.has) {
                throw ServiceError(
                    .conflictingFields, field: field,
                    "give either response or the counts, not both (\(field) was given)")
            }
            let call = try ExtractedCall(
                response: try body.response(), shape: try Self.provider(provider), providerName: provider, model: model)
            (usage, model, provider) = (call.usage, call.model, call.provider)
        } else {
            usage = try body.usage()
        }
        let outcome = await recorder.record(
            user: user, callID: callID, usage: usage, model: model, provider: provider, cycle: cycle)
        return try recordResponse(outcome, user: user, callID: callID, settle: false)
    }

    /// The response of a record or settle outcome: 409 `call_conflict` for a conflict (the library's
    /// ``CallConflict``: the call id was recorded with another total), 409 `event_parked` for an event
    /// older than the dedupe window (``ParkedWrite``).
    func recordResponse(_ outcome: RecordOutcome, user: String, callID: String, settle: Bool) throws -> Response {
        switch outcome {
        case .applied(let result), .duplicate(let result):
            return settle
                ? try JSONResponse.make(SettleOutput(result: result, callID: callID)) : try JSONResponse.make(result)
        case .conflict(let conflict):
            throw ServiceError(.callConflict, field: "call_id", conflict.message)
        case .parked(let parked):
            throw ServiceError(.eventParked, field: "call_id", parked.message)
        case .spooled:
            return try JSONResponse.make(SpooledOutput(user: user, callID: callID), status: .accepted)
        case .rejected(let error), .failed(let error):
            throw error
        }
    }

    /// `{"response", "provider"?}` → the normalized record (nothing stored).
    func extract(_ request: Request) async throws -> Response {
        let body = try await body(request, allowing: ["response", "provider"])
        let provider = try body.provider()
        let call = try ExtractedCall(response: try body.response(), shape: try Self.provider(provider))
        return try JSONResponse.make(call.usage)
    }

    /// The provider shape to read a response as: a known name, or `auto` when none is given.
    static func provider(_ name: String) throws -> Provider {
        if name.isEmpty { return .auto }
        guard let provider = Provider(name: name) else {
            throw ValidationError(
                code: .invalidIdentifier, field: "provider",
                message: "unknown provider \(String(reflecting: String(name.prefix(64)))); use one of "
                    + Provider.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return provider
    }
}

// The JSON results of recording and quota calls that are not a library type of their own: one
// definition for the CLI (`tokenledger record`, `quota …`) and the HTTP service, so both print
// the same bytes (sorted keys, snake_case).

/// `{"call_id","spooled":true,"user"}`: the event is in the local spool, to be replayed (the CLI's
/// `record` with Redis down and a spool; the service's 202).
public struct SpooledOutput: Encodable, Sendable, Hashable {
    /// Always true.
    public var spooled = true
    /// The user id.
    public var user: String
    /// The call id.
    public var callID: String

    /// The output of an event spooled for `user` under `callID`.
    public init(user: String, callID: String) {
        self.user = user
        self.callID = callID
    }

    enum CodingKeys: String, CodingKey {
        case spooled, user
        case callID = "call_id"
    }
}

/// `{"call_id","released_tokens","released_usd","user"}`: a released reservation (`quota release`,
/// `DELETE /v1/reservations/{call_id}`); `released_usd` is the lease's cost, a nine-decimal string.
public struct ReleaseOutput: Encodable, Sendable, Hashable {
    /// The user id.
    public var user: String
    /// The call id.
    public var callID: String
    /// The tokens of the lease that was dropped (0 when none was live).
    public var releasedTokens: Int
    /// The cost the lease held (zero when none was live or it held none).
    public var releasedUSD: Cost

    /// The output of a release.
    public init(user: String, callID: String, releasedTokens: Int, releasedUSD: Cost = .zero) {
        self.user = user
        self.callID = callID
        self.releasedTokens = releasedTokens
        self.releasedUSD = releasedUSD
    }

    enum CodingKeys: String, CodingKey {
        case user
        case callID = "call_id"
        case releasedTokens = "released_tokens"
        case releasedUSD = "released_usd"
    }
}

/// A reservation's result: the ``QuotaDecision``'s fields plus `"call_id"` and `"status"`
/// (`quota reserve`, `POST /v1/reservations`).
public struct DecisionWithCall: Encodable, Sendable {
    /// The quota decision.
    public var decision: QuotaDecision
    /// The reservation's status (``ReservationStatus``'s raw value: admitted, held, settled, denied).
    public var status: String
    /// The call id.
    public var callID: String

    /// The output of a reservation.
    public init(decision: QuotaDecision, status: String, callID: String) {
        self.decision = decision
        self.status = status
        self.callID = callID
    }

    enum CodingKeys: String, CodingKey {
        case status
        case callID = "call_id"
    }

    /// The decision's fields, then `call_id` and `status`.
    public func encode(to encoder: any Encoder) throws {
        try decision.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(callID, forKey: .callID)
    }
}

/// A settle's result: the ``RecordResult``'s fields plus `"call_id"` and `"released_tokens"`
/// (`quota settle`, `POST /v1/reservations/{call_id}/settle`).
public struct SettleOutput: Encodable, Sendable {
    /// What the settle did.
    public var result: RecordResult
    /// The call id.
    public var callID: String

    /// The output of a settle.
    public init(result: RecordResult, callID: String) {
        self.result = result
        self.callID = callID
    }

    enum CodingKeys: String, CodingKey {
        case callID = "call_id"
        case releasedTokens = "released_tokens"
    }

    /// The record result's fields, then `call_id` and `released_tokens`.
    public func encode(to encoder: any Encoder) throws {
        try result.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(callID, forKey: .callID)
        try c.encode(result.releasedTokens, forKey: .releasedTokens)
    }
}

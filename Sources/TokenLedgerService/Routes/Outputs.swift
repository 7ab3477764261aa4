import Foundation
import TokenLedger

// The CLI's JSON shapes (Sources/tokenledger), for the results that are not a library type.

/// `{"call_id","spooled":true,"user"}` (the CLI's `record` with Redis down and a spool).
struct SpooledOutput: Encodable {
    var spooled = true
    var user: String
    var callID: String

    enum CodingKeys: String, CodingKey {
        case spooled, user
        case callID = "call_id"
    }
}

/// `{"call_id","released_tokens","user"}` (the CLI's `quota release`).
struct ReleaseOutput: Encodable {
    var user: String
    var callID: String
    var releasedTokens: Int

    enum CodingKeys: String, CodingKey {
        case user
        case callID = "call_id"
        case releasedTokens = "released_tokens"
    }
}

/// The decision's fields plus `"call_id"` and `"status"` (the CLI's `quota reserve`).
struct DecisionWithCall: Encodable {
    var decision: QuotaDecision
    var status: String
    var callID: String

    enum CodingKeys: String, CodingKey {
        case status
        case callID = "call_id"
    }

    func encode(to encoder: any Encoder) throws {
        try decision.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(callID, forKey: .callID)
    }
}

/// The record result's fields plus `"call_id"` and `"released_tokens"` (the CLI's `quota settle`).
struct SettleOutput: Encodable {
    var result: RecordResult
    var callID: String

    enum CodingKeys: String, CodingKey {
        case callID = "call_id"
        case releasedTokens = "released_tokens"
    }

    func encode(to encoder: any Encoder) throws {
        try result.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(callID, forKey: .callID)
        try c.encode(result.releasedTokens, forKey: .releasedTokens)
    }
}

/// `{"limit","source","user"}` (the CLI's `limit set|get|clear`); `limit` null is unlimited.
struct LimitOutput: Encodable {
    var user: String?
    var limit: Int?
    var source: String

    enum CodingKeys: String, CodingKey { case user, limit, source }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(user, forKey: .user)
        try c.encode(limit, forKey: .limit)
        try c.encode(source, forKey: .source)
    }
}

/// `{"anchor","cycle","cycle_end","period","source","timezone","user"}` (the CLI's `cycle set|show`).
struct PolicyOutput: Encodable {
    var user: String?
    var period: String
    var anchor: Int?
    var timezone: String
    var source: String
    var cycle: String
    var cycleEnd: String

    init(user: String?, policy: BillingCyclePolicy, source: String, cycle: BillingCycle) {
        self.user = user
        self.period = policy.period.name
        self.anchor = policy.period.anchor
        self.timezone = policy.timeZoneIdentifier
        self.source = source
        self.cycle = cycle.start.description
        self.cycleEnd = cycle.end.description
    }

    enum CodingKeys: String, CodingKey {
        case user, period, anchor, timezone, source, cycle
        case cycleEnd = "cycle_end"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(user, forKey: .user)
        try c.encode(period, forKey: .period)
        try c.encode(anchor, forKey: .anchor)
        try c.encode(timezone, forKey: .timezone)
        try c.encode(source, forKey: .source)
        try c.encode(cycle, forKey: .cycle)
        try c.encode(cycleEnd, forKey: .cycleEnd)
    }
}

/// `{"status":"ok"}` of `/healthz`; `/readyz` adds `redis` and `schema` (and `reason` when not ready).
struct HealthOutput: Encodable {
    var status: String
    var redis: String?
    var schema: String?
    var reason: String?
}

import Foundation
import TokenLedger

// The service's own JSON shapes; the CLI's shapes it shares (SpooledOutput, ReleaseOutput,
// DecisionWithCall, SettleOutput, LimitOutput, PolicyOutput) are the library's
// (Sources/TokenLedger/Outputs).

/// `{"status":"ok"}` of `/healthz`; `/readyz` adds `redis` and `schema` (and `reason` when not ready).
struct HealthOutput: Encodable {
    var status: String
    var redis: String?
    var schema: String?
    var reason: String?
}

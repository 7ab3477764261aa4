import Configuration
import RedisClient

// LedgerConfiguration: the replica wait (`WAIT`) of records and settles, from its two keys.
extension LedgerConfiguration {
    /// The default `TOKENLEDGER_WAIT_TIMEOUT_MS`: 1 s. Long enough for a healthy replica on another
    /// host (acknowledgements come within a round trip or two), short enough that a record whose
    /// replica is gone is spooled promptly. Keep it below ``UsageRecorder/Options-swift.struct/recordTimeout``
    /// (the CLI uses 3 s): a record still waiting when that bound passes is spooled as if Redis were slow.
    public static let defaultWaitTimeout: Duration = .milliseconds(1000)

    /// The most replicas a wait may ask for.
    static let maximumWaitReplicas = 100

    /// The replica wait the `waitReplicas` and `waitTimeoutMs` keys give (`nil`: 0 replicas, no wait).
    ///
    /// - Throws: ``ValidationError`` with ``ValidationError/Code/invalidConfiguration`` naming the
    ///   key when a value is not a whole number in range.
    static func replicaWait(_ config: ConfigReader) throws(ValidationError) -> RedisReplicaWait? {
        let replicas = try wholeNumber(
            config.text(forKey: "waitReplicas"), key: "TOKENLEDGER_WAIT_REPLICAS (tokenledger.waitReplicas)",
            range: 0...maximumWaitReplicas)
        let timeout = try wholeNumber(
            config.text(forKey: "waitTimeoutMs"), key: "TOKENLEDGER_WAIT_TIMEOUT_MS (tokenledger.waitTimeoutMs)",
            range: 1...Int(Validation.maximumTimeout.components.seconds) * 1000)
        guard let replicas, replicas > 0 else { return nil }
        return RedisReplicaWait(replicas: replicas, timeout: timeout.map { .milliseconds($0) } ?? defaultWaitTimeout)
    }

    /// Checks a wait given in code: 1…100 replicas, a timeout of 1 ms…1 day.
    static func validate(_ wait: RedisReplicaWait) throws(ValidationError) {
        guard (1...maximumWaitReplicas).contains(wait.replicas) else {
            throw ValidationError(
                code: .invalidConfiguration, field: "replica_wait",
                message:
                    "the replica wait asks for \(wait.replicas) replicas; give 1…\(maximumWaitReplicas), or no wait")
        }
        guard wait.timeout >= .milliseconds(1) else {
            throw ValidationError(
                code: .invalidConfiguration, field: "replica_wait",
                message: "the replica wait timeout is \(wait.timeout); give at least 1 ms")
        }
        try Validation.validateDuration(wait.timeout, field: "replica_wait", maximum: Validation.maximumTimeout)
    }

    private static func wholeNumber(_ text: String?, key: String, range: ClosedRange<Int>) throws(ValidationError)
        -> Int?
    {
        guard let text else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let value = Int(trimmed), range.contains(value) else {
            let shown = trimmed.count > 40 ? String(trimmed.prefix(40)) + "…" : trimmed
            throw ValidationError(
                code: .invalidConfiguration, field: key,
                message: "\(key) is '\(shown)'; give a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}

import Foundation
import TokenLedger

/// How `tokenledger serve` listens and what it serves: the address, the body limit and the
/// library's configuration (Redis, namespace, spool directory).
public struct ServerConfiguration: Sendable {
    /// The default body limit: 8 MiB (SPEC: Bad input).
    public static let defaultBodyLimit = 8 << 20

    /// The address to listen on. Default `127.0.0.1` (loopback only).
    public var host: String
    /// The port to listen on; `0` picks a free one (see ``TokenLedgerServer/application(onServerRunning:)``).
    /// Default 8080.
    public var port: Int
    /// The most bytes of a request body the service reads; a longer body is answered 413 and not
    /// read further. Default ``defaultBodyLimit``.
    public var bodyLimit: Int
    /// Redis, the ledger's settings and the local settings (the spool directory among them).
    public var ledger: TokenLedgerConfiguration
    /// With a spool: the longest a record or settle waits for Redis before it is spooled (answered
    /// 202). Default 500 ms.
    public var recordTimeout: Duration
    /// The most pooled Redis connections. Default 16.
    public var maximumConnections: Int
    /// How long a request waits for a free pooled Redis connection before it fails (503, or 202
    /// when the spool takes it). Default ``defaultPoolWait`` (5 s, the pool's own default).
    public var poolWait: Duration

    /// The default ``poolWait``: 5 s.
    public static let defaultPoolWait: Duration = .seconds(5)
    /// The proxy routes' upstreams, provider keys and reservation defaults (docs/proxy.md).
    /// Default: the providers' public URLs, no keys, no default user.
    public var proxy: ProxyConfiguration = .standard

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - host: The address to listen on (default `127.0.0.1`).
    ///   - port: The port (default 8080; 0: a free one).
    ///   - bodyLimit: The largest request body in bytes (default 8 MiB); at least 1.
    ///   - ledger: Redis, namespace and spool.
    ///   - recordTimeout: With a spool, how long a record waits for Redis before it is spooled.
    ///   - maximumConnections: The most pooled Redis connections.
    ///   - poolWait: How long a request waits for a free pooled connection (default 5 s).
    /// - Throws: `ValidationError` (`invalid_configuration`) for a port outside 0…65535, a body
    ///   limit below 1 or a pool wait that is not positive.
    public init(
        host: String = "127.0.0.1", port: Int = 8080, bodyLimit: Int = ServerConfiguration.defaultBodyLimit,
        ledger: TokenLedgerConfiguration, recordTimeout: Duration = .milliseconds(500), maximumConnections: Int = 16,
        poolWait: Duration = ServerConfiguration.defaultPoolWait
    ) throws(ValidationError) {
        guard (0...65535).contains(port) else {
            throw ValidationError(
                code: .invalidConfiguration, field: "port", message: "the port must be 0 to 65535, not \(port)")
        }
        guard bodyLimit >= 1 else {
            throw ValidationError(
                code: .invalidConfiguration, field: "body_limit",
                message: "the body limit must be at least 1 byte, not \(bodyLimit)")
        }
        guard poolWait > .zero else {
            throw ValidationError(
                code: .invalidConfiguration, field: "pool_wait",
                message: "the pool wait must be positive, not \(poolWait)")
        }
        self.host = host
        self.port = port
        self.bodyLimit = bodyLimit
        self.ledger = ledger
        self.recordTimeout = recordTimeout
        self.maximumConnections = max(1, maximumConnections)
        self.poolWait = poolWait
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import RedisTestSupport
import Synchronization
import Testing
import TokenLedger

@testable import TokenLedgerService

/// The proxy under test: a real redis-server, the fake provider on a loopback port, and the
/// service on another with its upstreams pointed at the fake and fake provider keys configured.
struct ProxyHarness: Sendable {
    /// The service (its `send` talks to it over a socket).
    let service: ServiceHarness
    /// The fake provider behind it.
    let fake: FakeProvider
    /// Everything the service logged.
    let logs: LogCapture

    /// The OpenAI key the proxy is configured with (what the fake must see).
    static let openAIKey = "sk-proxy-openai-provider-key-7f3a9c"
    /// The Anthropic key the proxy is configured with.
    static let anthropicKey = "sk-ant-proxy-provider-key-2b8e1d"

    /// The service's base URL, e.g. `http://127.0.0.1:50123`.
    var baseURL: String { "http://127.0.0.1:\(service.port)" }
    /// The OpenAI SDK's `base_url`.
    var openAIBaseURL: String { baseURL + "/proxy/openai/v1" }
    /// The Anthropic SDK's `base_url` (it appends `/v1/messages`).
    var anthropicBaseURL: String { baseURL + "/proxy/anthropic" }
    /// The app key (the SDKs' `api_key`).
    var appKey: String { service.appKey }

    /// The user's usage in the running cycle.
    func usage(_ user: String) async throws -> UserUsage {
        try await service.repository.usage(user: user)
    }

    /// The user's usage once `calls` calls are booked to it: a proxied call's settle is queued when
    /// the provider's answer has been read and lands a moment after the client has the answer
    /// (docs/proxy.md), so a test waits for it before reading the counters.
    func settledUsage(_ user: String, calls: Int = 1) async throws -> UserUsage {
        let booked = try await waitUntil(timeout: .seconds(60)) { try await usage(user).counts.calls >= calls }
        #expect(booked, "\(user): \(calls) settled call(s) expected")
        return try await usage(user)
    }

    /// Whether any log line or metadata value contains `text`.
    func logsContain(_ text: String) -> Bool {
        logs.lines.contains { $0.contains(text) }
    }
}

/// Runs `body` against a fresh proxy (see ``ProxyHarness``).
///
/// - Parameters:
///   - readTimeout: How long the proxy waits for a silent provider.
///   - drainTimeout: How long it reads a stream after the client left.
///   - spool: Whether settles spool when Redis is down.
///   - whenUnavailable: Fail open or closed when Redis cannot reserve.
///   - defaultUser: The user of requests that name none.
///   - upstream: The upstream base URL instead of the fake's (e.g. a closed port).
///   - persistent: Whether Redis keeps its data across a stop and restart.
func withProxy<T: Sendable>(
    readTimeout: Duration = .seconds(120), drainTimeout: Duration = .seconds(60), spool: Bool = false,
    persistent: Bool = false,
    whenUnavailable: QuotaGuard.UnavailablePolicy = .failClosed, defaultUser: String? = nil, upstream: String? = nil,
    _ body: @Sendable @escaping (ProxyHarness) async throws -> T
) async throws -> T {
    let fake = FakeProvider()
    let logs = LogCapture()
    do {
        let value = try await fake.application().test(.live) { fakeClient in
            let target = upstream ?? "http://127.0.0.1:\(fakeClient.port ?? 0)/v1"
            var options = RedisTestServer.Options()
            if persistent {
                options.appendOnly = true
                options.appendFsync = "always"
            }
            return try await withRedisServer(options) { redis in
                let namespace = uniqueNamespace("proxy")
                let spoolDirectory =
                    spool
                    ? FileManager.default.temporaryDirectory.appendingPathComponent("proxy-spool-\(UUID().uuidString)")
                        .path
                    : nil
                defer { if let spoolDirectory { try? FileManager.default.removeItem(atPath: spoolDirectory) } }
                var redisConfiguration = redis.configuration
                redisConfiguration.connectTimeout = .seconds(2)
                var configuration = try ServerConfiguration(
                    port: 0,
                    ledger: TokenLedgerConfiguration(
                        redis: redisConfiguration, ledger: try LedgerConfiguration(namespace: namespace),
                        local: .init(spoolDirectory: spoolDirectory)),
                    poolWait: .seconds(120))
                configuration.proxy = try ProxyConfiguration(
                    openAIUpstream: target, anthropicUpstream: target,
                    openAIKey: ProviderKey(ProxyHarness.openAIKey),
                    anthropicKey: ProviderKey(ProxyHarness.anthropicKey),
                    defaultUser: defaultUser, whenUnavailable: whenUnavailable, readTimeout: readTimeout,
                    drainTimeout: drainTimeout)
                let logger = Logger(label: "proxy-test") { _ in LogCapture.Handler(capture: logs) }
                let server = try TokenLedgerServer(configuration: configuration, logger: logger)
                let keys = try await testKeys(server: server, namespace: namespace)
                do {
                    let value = try await server.application().test(.live) { live in
                        try await withPatientClient(port: live.port ?? 0) { client, port in
                            let service = ServiceHarness(
                                server: server, redis: redis, namespace: namespace, client: client, port: port,
                                appKey: keys.app, readKey: keys.read, adminKey: keys.admin)
                            defer { fake.openGate() }  // a gated fake stream must end before the fake stops
                            return try await body(ProxyHarness(service: service, fake: fake, logs: logs))
                        }
                    }
                    await server.close()
                    return value
                } catch {
                    await server.close()
                    throw error
                }
            }
        }
        return value
    } catch {
        fake.openGate()
        throw error
    }
}

/// Keeps every log line of a logger (message and metadata rendered), to check what was logged.
final class LogCapture: Sendable {
    private let store = Mutex<[String]>([])

    /// Every line: level, message and metadata.
    var lines: [String] { store.withLock { $0 } }

    func append(_ line: String) { store.withLock { $0.append(line) } }

    /// A swift-log handler that appends to a capture, at trace level.
    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append("\(event.level) \(event.message) \(merged)")
        }
    }
}

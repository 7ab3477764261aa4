import AsyncHTTPClient
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import TokenLedger

/// The proxy's side of the providers: its configuration, its token counter, its metrics and the
/// HTTP client that forwards (async-http-client), made on the first proxied call so a service that
/// proxies nothing opens nothing.
///
/// ### Threading
/// `Sendable`; one per server. ``shutdown()`` once, after the HTTP server stopped.
final class ProxyForwarder: Sendable {
    let configuration: ProxyConfiguration
    let counting: TokenCounting
    let metrics: ProxyMetrics
    let logger: Logger
    private let client = Mutex<ClientState>(.none)

    private enum ClientState {
        case none
        case running(HTTPClient)
        case shutDown
    }

    init(configuration: ProxyConfiguration, counting: TokenCounting, metrics: ProxyMetrics, logger: Logger) {
        self.configuration = configuration
        self.counting = counting
        self.metrics = metrics
        self.logger = logger
    }

    /// The HTTP client, made on first use. No redirects are followed (a provider's redirect would
    /// carry the key elsewhere), bodies are not decompressed (the proxy asks for none), and no
    /// logger is given to it (it would see the key header at trace level).
    func httpClient() throws -> HTTPClient {
        try client.withLock { state in
            switch state {
            case .running(let client):
                return client
            case .shutDown:
                throw ProxyUpstreamError(.unreachable, "the service is shutting down")
            case .none:
                var pool = HTTPClient.Configuration.ConnectionPool()
                pool.concurrentHTTP1ConnectionsPerHostSoftLimit = configuration.maximumConnections
                let timeouts = HTTPClient.Configuration.Timeout(
                    connect: Self.timeAmount(configuration.connectTimeout),
                    read: Self.timeAmount(configuration.readTimeout))
                let made = HTTPClient(
                    eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                    configuration: HTTPClient.Configuration(
                        redirectConfiguration: .disallow, timeout: timeouts, connectionPool: pool,
                        decompression: .disabled))
                state = .running(made)
                return made
            }
        }
    }

    /// Stops the HTTP client, if one was made; later calls are refused.
    func shutdown() async {
        let running: HTTPClient? = client.withLock { state in
            defer { state = .shutDown }
            if case .running(let client) = state { return client }
            return nil
        }
        try? await running?.shutdown()
    }

    /// Sends a request upstream and returns its response head (the body streams after). Bounded
    /// by the read timeout until the head arrives.
    ///
    /// - Throws: ``ProxyUpstreamError`` (`unreachable` or `timeout`), never with the key in it.
    func send(
        _ request: ProxyRequest, headers: HTTPFields, query: String?
    ) async throws -> HTTPClientResponse {
        let provider = request.endpoint.provider
        var url = provider.upstream(in: configuration) + request.endpoint.upstreamSuffix
        if let query, !query.isEmpty { url += "?" + query }
        var outgoing = HTTPClientRequest(url: url)
        outgoing.method = .POST
        outgoing.headers = ProxyHeaders.upstream(
            from: headers, provider: provider, key: provider.key(in: configuration),
            bodyLength: request.upstreamBody.count)
        outgoing.body = .bytes(ByteBuffer(bytes: request.upstreamBody))
        let start = ContinuousClock.now
        do {
            let response = try await httpClient().execute(
                outgoing, timeout: Self.timeAmount(configuration.readTimeout))
            metrics.upstreamLatency(provider: provider, duration: ContinuousClock.now - start)
            return response
        } catch let error as ProxyUpstreamError {
            throw error
        } catch let error as HTTPClientError where Self.isTimeout(error) {
            throw ProxyUpstreamError(.timeout, "the provider did not answer within the proxy's read timeout")
        } catch {
            throw ProxyUpstreamError(.unreachable, "the provider could not be reached (\(Self.reason(error)))")
        }
    }

    static func isTimeout(_ error: HTTPClientError) -> Bool {
        [HTTPClientError.deadlineExceeded, .readTimeout, .connectTimeout].contains(error)
    }

    /// A short reason for an upstream failure that names no URL, header or key.
    static func reason(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "connect timeout"
            case .remoteConnectionClosed: return "connection closed"
            case .cancelled: return "cancelled"
            default: return "http client error"
            }
        }
        if error is CancellationError { return "cancelled" }
        if let error = error as? IOError { return "i/o error \(error.errnoCode)" }
        return "connection failed"
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// A provider that could not be reached or did not answer in time: 502 or 504, and the reservation
/// released.
struct ProxyUpstreamError: Error, Sendable, CustomStringConvertible {
    enum Kind: String, Sendable {
        /// Connection refused, reset, DNS, TLS…: 502 `upstream_unreachable`.
        case unreachable = "upstream_unreachable"
        /// No answer within the read timeout: 504 `upstream_timeout`.
        case timeout = "upstream_timeout"
    }

    var kind: Kind
    var message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    var description: String { message }
}

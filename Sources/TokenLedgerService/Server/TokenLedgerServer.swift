import CoreMetrics
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Prometheus
import RedisClient
import ServiceLifecycle
import Synchronization
import TokenLedger

/// The HTTP service of `tokenledger serve`: a Hummingbird application over the library, with the
/// pipelined ``UsageRecorder`` (and its spool) as a service of the same `ServiceGroup`.
///
/// Make one, build its application with ``application(onServerRunning:)``, run that (in a
/// `ServiceGroup` or with `runService()`), then ``close()``. A graceful shutdown stops the HTTP
/// server first (requests in flight are answered), then the recorder (queued records are sent, the
/// spool replayed once more).
///
/// ### Threading
/// `Sendable`; one instance serves every request.
public final class TokenLedgerServer: Sendable {
    /// Who may call a route (SPEC: Service).
    enum Access: String, Sendable {
        /// No key needed: health, readiness, metrics, the OpenAPI document.
        case open
        /// Record, check, reserve, settle, release, extract.
        case app
        /// Usage, reports and limits (read).
        case read
        /// Everything, limits and cycle policies included.
        case admin
    }

    /// One route: its method, its path template (as the OpenAPI document writes it) and who may call it.
    struct Route: Sendable, Hashable {
        var method: HTTPRequest.Method
        var path: String
        var access: Access
        /// Whether the route can answer 202 with a spool (record, settle): only these may accept a
        /// key remembered in this process while Redis cannot confirm it (see `authorize`).
        var spoolable = false
    }

    typealias Handler = @Sendable (Request, ServiceRequestContext) async throws -> Response

    /// How it listens and what it serves.
    public let configuration: ServerConfiguration
    /// The Redis connections every route uses; ``close()`` closes them.
    public let pool: RedisConnectionPool
    /// The library's repository over ``pool``.
    public let repository: TokenRepository
    /// Records and settles (pipelined, spooled when a spool directory is configured).
    public let recorder: UsageRecorder
    /// Where `/metrics` reads from.
    public let registry: PrometheusCollectorRegistry
    /// Checks the bearer secrets (`tokenledger key create`), through the recorder's pipeline.
    public let keyStore: APIKeyStore
    /// Keys that authenticated in this process, by the SHA-256 of their secret, with when Redis
    /// last confirmed them: used only by spoolable routes while Redis cannot be reached, for a
    /// bounded time (see `authorize`).
    let authenticated = Mutex<[[UInt8]: RememberedKey]>([:])
    let metrics: ServiceMetrics
    let logger: Logger
    /// The proxy routes' providers, counter and HTTP client (docs/proxy.md).
    let proxyForwarder: ProxyForwarder

    /// Creates the service: opens the spool (when configured), the pool (lazily connected) and the
    /// recorder; nothing listens until the application runs.
    ///
    /// - Parameters:
    ///   - configuration: Address, body limit, Redis and spool.
    ///   - registry: The Prometheus registry `/metrics` renders; every metric of the service, the
    ///     recorder and the Redis pool is made through a `PrometheusMetricsFactory` over it.
    ///   - logger: Where the server logs (never a secret or a request body). Default: nothing.
    /// - Throws: `SpoolError` when the spool directory cannot be opened; `LedgerError` when the
    ///   Lua scripts are missing from the installation; `ValidationError` for a bad namespace.
    public init(
        configuration: ServerConfiguration, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        logger: Logger = Logger(label: "tokenledger.serve", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws {
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
        let factory = Self.metricsFactory(for: registry)
        self.metrics = ServiceMetrics(factory: factory)
        let ledgerMetrics = LedgerMetrics(factory: factory)
        self.pool = RedisConnectionPool(
            configuration: configuration.ledger.redis,
            options: .init(maximumConnections: configuration.maximumConnections, waitTimeout: configuration.poolWait),
            logger: logger, metrics: factory)
        self.repository = try TokenRepository(
            pool: pool, configuration: configuration.ledger.ledger, logger: logger, metrics: ledgerMetrics)
        let spool = try configuration.ledger.local.spoolDirectory.map { try EventSpool(directory: $0, logger: logger) }
        self.recorder = UsageRecorder(
            repository: repository, spool: spool,
            options: .init(recordTimeout: configuration.recordTimeout, pipeline: .init()),
            metrics: ledgerMetrics, logger: logger)
        // Each request's key lookup shares the recorder's pipeline: concurrent requests' HGETs (and
        // records) go out in one write instead of a pooled round trip each.
        self.keyStore = try APIKeyStore(pool: pool, namespace: configuration.ledger.ledger.namespace)
            .pipelined(by: recorder)
        self.proxyForwarder = ProxyForwarder(
            configuration: configuration.proxy, counting: configuration.ledger.local.tokenCounting(),
            metrics: ProxyMetrics(factory: factory), logger: logger)
    }

    /// The Hummingbird application: every route, the problem and metrics middleware, and the
    /// recorder as a service (shut down after the HTTP server, so in-flight requests finish first).
    ///
    /// - Parameter onServerRunning: Called with the bound port once the server listens (the port
    ///   that port 0 picked).
    public func application(
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> Application<RouterResponder<ServiceRequestContext>> {
        let router = Router(context: ServiceRequestContext.self)
        router.add(middleware: ServiceMiddleware(server: self))
        for (route, handler) in routes() {
            let isProxy = Self.isProxyPath(route.path)
            router.on(RouterPath(route.path), method: route.method) { request, context in
                // The Anthropic SDK sends its key as x-api-key (proxy routes only).
                var context = context
                context.apiKey = try await self.authorize(
                    isProxy ? Self.bearerFromAPIKeyHeader(request) : request, access: route.access,
                    spoolable: route.spoolable)
                return try await handler(request, context)
            }
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            services: [recorder],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            // Hummingbird gives each request a copy of this logger with its request id set.
            logger: logger.withCheapMetadata())
    }

    /// Closes the proxy's HTTP client and the Redis pool; call it once the application has returned.
    public func close() async {
        await proxyForwarder.shutdown()
        await pool.close()
    }

    /// Every route with its handler (the OpenAPI document lists the same ones).
    func routes() -> [(Route, Handler)] {
        // Added in steps: one expression of six sums is too much for the type checker.
        var all = healthRoutes() + usageRoutes() + quotaRoutes()
        all += readRoutes() + adminRoutes() + rateRoutes()
        all += proxyRoutes()
        return all
    }

    /// The routes whose template matches `path` (any method), for 405 and its `Allow` header.
    func methods(matching path: String) -> [HTTPRequest.Method] {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        return routes().map(\.0).filter { route in
            let template = route.path.split(separator: "/", omittingEmptySubsequences: true)
            return template.count == parts.count
                && zip(template, parts).allSatisfy { $0.first == "{" || $0 == $1 }
        }.map(\.method)
    }

    /// The JSON body of a request, checked against the fields the route takes.
    func body(_ request: Request, allowing fields: Set<String>) async throws -> JSONBody {
        try await JSONBody(request, limit: configuration.bodyLimit, allowed: fields)
    }
}

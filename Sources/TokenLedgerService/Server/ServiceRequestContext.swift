import Hummingbird

/// The per-request context of the service's routes: Hummingbird's core context.
public struct ServiceRequestContext: RequestContext {
    /// Hummingbird's request state (parameters, logger, endpoint path).
    public var coreContext: CoreRequestContextStorage

    /// Creates the context of one request.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}

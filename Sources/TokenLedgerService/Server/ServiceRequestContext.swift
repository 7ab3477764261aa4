import Hummingbird
import TokenLedger

/// The per-request context of the service's routes: Hummingbird's core context.
public struct ServiceRequestContext: RequestContext {
    /// Hummingbird's request state (parameters, logger, endpoint path).
    public var coreContext: CoreRequestContextStorage
    /// The API key the request was authenticated with (set before the route's handler runs; `nil`
    /// on open routes). The proxy routes read its default user.
    public var apiKey: APIKey?

    /// Creates the context of one request.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}

/// What ``TokenRepository/releaseLease(user:callID:)`` dropped: the lease's tokens and its cost.
public struct ReleasedLease: Sendable, Hashable {
    /// The tokens released (0 when the call held no live lease).
    public var tokens: Int
    /// The nano-USD released (zero when the lease held none).
    public var cost: Cost

    /// Creates the value.
    public init(tokens: Int, cost: Cost) {
        self.tokens = tokens
        self.cost = cost
    }
}

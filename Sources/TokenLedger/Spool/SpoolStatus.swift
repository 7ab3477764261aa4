/// How full the spool is.
public struct SpoolStatus: Sendable, Hashable, Codable {
    /// The spool directory.
    public var directory: String
    /// Events waiting to be replayed.
    public var events: Int
    /// Bytes of waiting events.
    public var bytes: Int
    /// Segment files.
    public var segments: Int
    /// The size bound.
    public var maximumBytes: Int
    /// Events set aside as never applicable.
    public var rejected: Int
    /// Events parked because their cycle's call ids were dropped (``ParkedEvents``): an
    /// administrator applies or drops them (`tokenledger spool parked`).
    public var parked: Int = 0
}

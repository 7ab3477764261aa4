/// The groups a user belongs to: at most one team and one org.
///
/// JSON: `{"user","team","org"}`, `team` and `org` `null` when none.
public struct Membership: Sendable, Hashable, Codable {
    /// The user id.
    public var user: String
    /// The user's team id, or `nil`.
    public var team: String?
    /// The user's org id, or `nil`.
    public var org: String?

    /// Creates a membership.
    public init(user: String, team: String?, org: String?) {
        self.user = user
        self.team = team
        self.org = org
    }

    /// The scopes the user's usage is booked to besides the user: the team, then the org.
    public var groups: [LedgerScope] { (team.map { [.team($0)] } ?? []) + (org.map { [.org($0)] } ?? []) }

    /// Encodes every field (`null` for none).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(user, forKey: .user)
        try c.encode(team, forKey: .team)
        try c.encode(org, forKey: .org)
    }
}

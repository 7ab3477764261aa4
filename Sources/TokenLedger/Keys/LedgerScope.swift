/// What usage is booked to and limited by: a user, or a group of users (a team or an org).
///
/// A user may belong to one team and one org (``TokenRepository/setMembership(user:team:org:)``);
/// every record and settle of the user is booked to them too, and a reservation is admitted only
/// when every scope admits it (docs/quota.md, "Scopes").
///
/// ### Names
/// A scope is written `user:ID`, `team:ID` or `org:ID`. Where a user id is expected (the CLI's USER
/// arguments), ``init(naming:field:)`` reads `team:…` and `org:…` as groups and `user:…` as a user, and any
/// other text as a plain user id; a user whose id itself starts with `team:`, `org:` or `user:` is
/// addressed as `user:team:x`.
///
/// ### Keys
/// A group's keys are a user's key family under the hash tag `{team:ESC(ID)}` / `{org:ESC(ID)}`
/// (``RedisKeyEscaping/escape(_:)``). An escaped user id never holds a raw `:` (it is `%3A`), so no
/// group tag equals a user's tag.
public enum LedgerScope: Sendable, Hashable, CustomStringConvertible {
    /// A user.
    case user(String)
    /// A team.
    case team(String)
    /// An org.
    case org(String)

    /// The kind of a scope.
    public enum Kind: String, Sendable, Hashable, CaseIterable, Codable {
        /// A user.
        case user
        /// A team.
        case team
        /// An org.
        case org
    }

    /// Reads a scope name: `team:ID`, `org:ID`, `user:ID`, or a plain user id.
    ///
    /// - Parameters:
    ///   - name: The text, e.g. `"team:research"`, `"alice"` or `"user:team:x"`.
    ///   - field: The field named in an error (default `user_id` for a user, else `team` or `org`).
    /// - Throws: ``ValidationError`` (``ValidationError/Code/invalidUserID``) when the id is not valid.
    public init(naming name: String, field: String? = nil) throws(ValidationError) {
        for kind in [Kind.team, .org, .user] where name.hasPrefix(kind.rawValue + ":") {
            let id = String(name.dropFirst(kind.rawValue.count + 1))
            self = try LedgerScope(kind: kind, id: id, field: field)
            return
        }
        self = try LedgerScope(kind: .user, id: name, field: field)
    }

    /// A scope of a kind; the id is validated as user ids are (1–256 bytes of UTF-8, no control characters).
    ///
    /// - Throws: ``ValidationError`` (``ValidationError/Code/invalidUserID``) naming `field`.
    public init(kind: Kind, id: String, field: String? = nil) throws(ValidationError) {
        try Validation.validateUserID(id, field: field ?? (kind == .user ? "user_id" : kind.rawValue))
        switch kind {
        case .user: self = .user(id)
        case .team: self = .team(id)
        case .org: self = .org(id)
        }
    }

    /// The scope's kind.
    public var kind: Kind {
        switch self {
        case .user: .user
        case .team: .team
        case .org: .org
        }
    }

    /// The scope's id (a user id, a team id or an org id).
    public var id: String {
        switch self {
        case .user(let id), .team(let id), .org(let id): id
        }
    }

    /// `user:ID`, `team:ID` or `org:ID`.
    public var description: String { kind.rawValue + ":" + id }

    /// How the scope is named where a user id is expected: a user's plain id (unless it starts with a
    /// scope prefix), else ``description``.
    public var argument: String {
        guard case .user(let id) = self else { return description }
        let prefixed = Kind.allCases.contains { id.hasPrefix($0.rawValue + ":") }
        return prefixed ? description : id
    }

    /// The key of the repository's per-subject caches (policy hints): the user id for a user (as
    /// before scopes existed), and for a group a text no user id can be (it starts with a control character).
    var cacheKey: String {
        guard case .user(let id) = self else { return "\u{1}" + description }
        return id
    }
}

extension LedgerKeys {
    /// The keys of a scope: a user's (``user(_:)``), or a group's under `{team:ESC(ID)}` / `{org:ESC(ID)}`.
    ///
    /// - Throws: ``ValidationError`` when the id is not valid.
    public func scope(_ scope: LedgerScope) throws(ValidationError) -> User {
        switch scope {
        case .user(let id):
            return try user(id)
        case .team(let id), .org(let id):
            try Validation.validateUserID(id, field: scope.kind.rawValue)
            return User(prefix: namespace + ":{" + scope.kind.rawValue + ":" + RedisKeyEscaping.escape(id) + "}:")
        }
    }

    /// The scope a per-subject key of this namespace belongs to, or `nil` when the key is not one.
    public func scope(fromKey key: String) -> LedgerScope? {
        let head = namespace + ":{"
        guard key.hasPrefix(head), let close = key.firstIndex(of: "}") else { return nil }
        let tag = String(key[key.index(key.startIndex, offsetBy: head.count)..<close])
        for kind in [LedgerScope.Kind.team, .org] where tag.hasPrefix(kind.rawValue + ":") {
            guard let id = RedisKeyEscaping.unescape(String(tag.dropFirst(kind.rawValue.count + 1))) else { return nil }
            return try? LedgerScope(kind: kind, id: id)
        }
        return RedisKeyEscaping.unescape(tag).map(LedgerScope.user)
    }
}

extension LedgerKeys.User {
    /// Hash of the groups each of a user's live leases was taken in (call id → `team\norg`), so a
    /// settle books the scopes its lease was admitted by, even after a membership change.
    public var leaseScopes: String { prefix + "lease-scopes" }
}

extension LedgerKeys {
    /// Set of the teams (or orgs) with usage in a cycle of theirs. Derived, written once per group and
    /// cycle (as ``index(_:)`` is per user).
    public func scopeIndex(_ kind: LedgerScope.Kind, _ cycle: CalendarDate) -> String {
        namespace + ":{global}:scope-index:" + kind.rawValue + ":" + cycle.description
    }
}

extension LedgerKeys {
    /// Set of the cycle names that have a ``scopeIndex(_:_:)`` of a kind.
    public func scopeIndexedCycles(_ kind: LedgerScope.Kind) -> String {
        namespace + ":{global}:scope-cycles:" + kind.rawValue
    }
}

import RedisClient

/// Deletes every key of a disposable namespace: what `tokenledger demo` does before it runs, so each
/// run starts from nothing.
///
/// A wipe deletes usage, limits and history for good, so it is fenced:
///
/// - Only a namespace whose name starts with ``disposablePrefix`` (`demo`) can be wiped; creating a
///   wipe for any other namespace throws. The application's namespace (`tl` by default) never
///   qualifies, whatever a caller passes by mistake.
/// - Only keys of the namespace are deleted: the `SCAN` pattern is `<namespace>:*` (a valid namespace
///   holds no glob character, see ``Validation/validateNamespace(_:field:)``), and every key the scan
///   returns is checked to start with `<namespace>:` before it is unlinked. `demo2:…` is not
///   `demo:…`'s.
/// - It deletes with `UNLINK`, a batch per `SCAN` step, so a large namespace does not block the server.
///
/// The user needs `SCAN` and `UNLINK` on the namespace's keys (the administrator's ACL user).
///
/// ### Threading
/// `Sendable`; a wipe holds no state beyond its repository.
public struct NamespaceWipe: Sendable {
    /// The prefix of every namespace that may be wiped: `demo`.
    public static let disposablePrefix = "demo"

    /// Whether a namespace may be wiped: its name starts with ``disposablePrefix``.
    ///
    /// - Parameter namespace: The namespace's name.
    public static func isDisposable(_ namespace: String) -> Bool { namespace.hasPrefix(disposablePrefix) }

    /// The repository whose namespace is wiped.
    public let repository: TokenRepository

    /// Prepares a wipe of the repository's namespace.
    ///
    /// - Parameter repository: The repository whose namespace (``LedgerKeys/namespace``) to wipe.
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidNamespace`` when the
    ///   namespace does not start with ``disposablePrefix``; nothing is touched.
    public init(repository: TokenRepository) throws(ValidationError) {
        let namespace = repository.keys.namespace
        guard Self.isDisposable(namespace) else {
            throw ValidationError(
                code: .invalidNamespace, field: "namespace",
                message: "namespace '\(namespace)' is not disposable: only a namespace starting with "
                    + "'\(Self.disposablePrefix)' may be wiped")
        }
        self.repository = repository
    }

    /// Deletes every key of the namespace.
    ///
    /// Keys written while the wipe runs may survive it (`SCAN` guarantees only the keys present for the
    /// whole scan); run it while nothing writes to the namespace.
    ///
    /// - Parameter batchSize: Keys per `SCAN` step (its `COUNT` hint) and at most per `UNLINK`. Default 1000.
    /// - Returns: How many keys were deleted.
    /// - Throws: `RedisError` (unreachable, or the user may not scan or delete; a
    ///   `protocol_error` when `SCAN` answers with something that is not a cursor and a list of keys).
    @discardableResult
    public func run(batchSize: Int = 1000) async throws -> Int {
        let prefix = Array((repository.keys.namespace + ":").utf8)
        let pool = repository.pool
        var deleted = 0
        // Deleting keys behind the cursor is safe: SCAN still returns every key present for the whole scan.
        try await pool.scan(match: repository.keys.namespace + ":*", count: max(batchSize, 1))
            .forEachBatch(of: max(batchSize, 1)) { found in
                let keys = found.filter { $0.starts(with: prefix) }
                if !keys.isEmpty { deleted += try await pool.send(UNLINK(keys)) }
            }
        return deleted
    }
}

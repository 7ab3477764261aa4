import RedisClient

// LegacyImportMigration: a resumable SCAN of the whole keyspace, one master after another on a cluster.
extension LegacyImportMigration {
    /// One step of a `SCAN` over the whole keyspace whose position fits in one checkpointed string.
    ///
    /// Against a standalone server the position is SCAN's own cursor. A Redis Cluster answers
    /// `SCAN` from one node's keys only, so there the masters of the slot map are walked in turn,
    /// ordered by address, and the position is `host:port cursor` (the master being walked and
    /// its cursor). `"0"` starts and ends the walk, as SCAN's cursor does. A position naming a
    /// node that is no longer a master (a failover or a reshard between two runs) starts the walk
    /// again from the first master: the import is idempotent, so keys seen twice cost a duplicate
    /// check, and none is missed.
    ///
    /// - Returns: The next position (`"0"` when the walk is complete) and this step's keys.
    static func scanStep(
        _ position: String, pool: RedisConnectionPool, command: (String) -> SCAN
    ) async throws -> (next: String, keys: [[UInt8]]) {
        guard let topology = try await pool.clusterTopology() else {
            let page = try await pool.send(command(position))
            return (page.cursor, page.elements)
        }
        let masters = topology.servingMasters.map(\.endpoint).sorted { $0.description < $1.description }
        guard !masters.isEmpty else { return ("0", []) }
        var index = 0
        var cursor = "0"
        if position != "0", let space = position.lastIndex(of: " ") {
            let node = position[..<space]
            if let found = masters.firstIndex(where: { $0.description == node }) {
                index = found
                cursor = String(position[position.index(after: space)...])
            }
        }
        let page = try await pool.send(command(cursor), to: masters[index])
        if page.cursor != "0" { return ("\(masters[index]) \(page.cursor)", page.elements) }
        if index + 1 < masters.count { return ("\(masters[index + 1]) 0", page.elements) }
        return ("0", page.elements)
    }
}

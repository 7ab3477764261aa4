import RedisClient
import Testing

// A `CLUSTER INFO` reply as Redis 7.0.15 sends it (CRLF line ends), from a 3-master cluster with
// slots 100-109 deleted on every node.
private let failingCluster = """
    cluster_state:fail\r
    cluster_slots_assigned:16374\r
    cluster_slots_ok:16374\r
    cluster_slots_pfail:0\r
    cluster_slots_fail:0\r
    cluster_known_nodes:3\r
    cluster_size:3\r
    cluster_current_epoch:3\r

    """

@Suite("CLUSTER INFO")
struct ClusterInfoCommandTests {
    @Test("decodes the state and counts, without the line ends")
    func decodes() throws {
        let fields = try CLUSTER.INFO().decode(.bulk(Array(failingCluster.utf8)))
        #expect(fields["cluster_state"] == "fail")
        #expect(fields["cluster_slots_assigned"] == "16374")
        #expect(fields["cluster_known_nodes"] == "3")
        #expect(CLUSTER.INFO().command == RedisCommand("CLUSTER", "INFO"))
        #expect(CLUSTER.INFO().keys.isEmpty && CLUSTER.INFO().isReadOnly)
    }

    @Test("a reply without cluster_state is an error naming the command")
    func refusesOtherReplies() {
        #expect(throws: RedisError.self) {
            try CLUSTER.INFO().decode(.bulk(Array("# Server\r\nredis_version:7.0.15\r\n".utf8)))
        }
        #expect(throws: RedisError.self) { try CLUSTER.INFO().decode(.integer(1)) }
        do {
            _ = try CLUSTER.INFO().decode(.integer(1))
        } catch {
            #expect(error.message.contains("CLUSTER INFO"))
        }
    }
}

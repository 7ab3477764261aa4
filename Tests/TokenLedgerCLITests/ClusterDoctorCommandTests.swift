import Foundation
import RedisClient
import RedisTestSupport
import Testing

@Suite("tokenledger doctor on a Redis Cluster")
struct ClusterDoctorCommandTests {
    @Test("a configured rank directory with no rank file fails doctor on a cluster too: exit 70 naming counting")
    func countingFailure() async throws {
        let cluster = try await RedisTestCluster.shared()
        let broken = try await CLI.run(
            ["doctor", "--redis", cluster.seedURL, "--namespace", "doctor-counting"],
            environment: ["TOKENLEDGER_BPE_DIR": "/nonexistent/ranks"])
        #expect(broken.status == 70, "stdout: \(broken.stdout)\nstderr: \(broken.stderr)")
        #expect(broken.stdout.contains("fail  counting: no rank file loads"), "\(broken.stdout)")
        #expect(broken.stderr.contains("counting failed"), "\(broken.stderr)")
    }

    @Test("a healthy cluster: exit 0, every node with its role, the masters' slots summing to 16384")
    func healthy() async throws {
        let cluster = try await RedisTestCluster.shared()
        let namespace = "doctor-\(UUID().uuidString.prefix(8))"
        let json = try await CLI.run([
            "doctor", "--redis", cluster.seedURL, "--namespace", namespace, "--format", "json",
        ])
        #expect(json.status == 0, "stderr: \(json.stderr)\nstdout: \(json.stdout)")
        let object = try jsonObject(json.stdout)
        let report = try #require(object["cluster"] as? [String: Any], "no cluster report: \(json.stdout)")
        #expect(report["state"] as? String == "ok")
        #expect(report["slots_served"] as? Int == 16384)
        let nodes = try #require(report["nodes"] as? [[String: Any]])
        #expect(Set(nodes.compactMap { $0["address"] as? String }) == Set(cluster.seeds))

        // Roles, slots and masters as the cluster itself reports them.
        let truth = try await cluster.topology()
        let masters = nodes.filter { $0["role"] as? String == "master" }
        let replicas = nodes.filter { $0["role"] as? String == "replica" }
        #expect(masters.count == 3 && replicas.count == 3)
        #expect(masters.reduce(0) { $0 + ($1["slot_count"] as? Int ?? 0) } == 16384)
        for node in nodes {
            let address = try #require(node["address"] as? String)
            let real = try #require(truth.first { $0.address == address })
            #expect(node["id"] as? String == real.id)
            #expect(node["role"] as? String == real.role.rawValue, "\(address)")
            #expect(node["reachable"] as? Bool == true)
            let checks = (node["checks"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            if real.role == .master {
                // Other tests move single slots of the shared cluster meanwhile: each master's count
                // is compared within 32 slots of the cluster's own (the sum is exact above).
                let count = node["slot_count"] as? Int ?? 0
                #expect(abs(count - real.slots.reduce(0) { $0 + $1.count }) <= 32, "\(address): \(count)")
                #expect(Set(["ping", "persistence", "memory", "scripts", "permissions"]).isSubset(of: Set(checks)))
            } else {
                let master = try #require(truth.first { $0.id == real.masterID })
                #expect(node["master"] as? String == master.address)
                #expect(checks.contains("ping") && !checks.contains("scripts"))
            }
        }
        let top = (object["checks"] as? [[String: Any]] ?? []).map {
            ($0["name"] as? String ?? "", $0["status"] as? String)
        }
        for name in ["cluster", "slots", "masters"] {
            #expect(top.contains { $0.0 == name && $0.1 == "ok" }, "\(name) not ok: \(top)")
        }
        #expect(top.contains { $0.0 == "schema" }, "the namespace's checks ran on the {global} master: \(top)")

        let table = try await CLI.run(["doctor", "--redis", cluster.seedURL, "--namespace", namespace])
        #expect(table.status == 0, "stderr: \(table.stderr)")
        #expect(
            table.stdout.contains("cluster: state ok, 16384 of 16384 slots served, 6 nodes (3 masters, 3 replicas)"))
        for node in truth {
            let role = node.role == .master ? "master" : "replica"
            #expect(table.stdout.contains("  \(node.address)  \(role)  "), "\(node.address) missing: \(table.stdout)")
        }
    }

    @Test("an ACL user missing on one master: exit 70 naming that node")
    func userMissingOnOneNode() async throws {
        let cluster = try await RedisTestCluster.shared()
        let user = "doctor-acl-\(UInt32.random(in: 0...UInt32.max))"
        let truth = try await cluster.topology()
        let bare = try #require(truth.first { $0.role == .master })
        let seed = try #require(truth.first { $0.port != bare.port && $0.role == .master })
        // ACL commands are not replicated: each node gets the user, except one master.
        for node in truth where node.port != bare.port {
            _ = try await cluster.send(
                RedisCommand("ACL", "SETUSER", user, "on", ">acl-secret", "~*", "+@all"), to: node.port)
        }
        let result = try await CLI.run(["doctor", "--redis", "redis://\(user):acl-secret@127.0.0.1:\(seed.port)"])
        for node in truth where node.port != bare.port {
            _ = try? await cluster.send(RedisCommand("ACL", "DELUSER", user), to: node.port)
        }
        #expect(result.status == 70, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(
            result.stderr.contains("127.0.0.1:\(bare.port) ping failed: the node refuses this user"), "\(result.stderr)"
        )
        #expect(!(result.stdout + result.stderr).contains("acl-secret"))
    }

    @Test("a single server's report has no cluster part")
    func standalone() async throws {
        try await withRedisServer { server async throws in
            let json = try await CLI.run(["doctor", "--redis", "redis://127.0.0.1:\(server.port)", "--format", "json"])
            #expect(json.status == 0, "stderr: \(json.stderr)")
            let object = try jsonObject(json.stdout)
            #expect(object["cluster"] == nil)
            let names = (object["checks"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(names.contains("role") && !names.contains("cluster"))
        }
    }

    @Test("slots without a master: exit 70 naming the slots and cluster_state")
    func uncoveredSlots() async throws {
        var options = RedisTestCluster.Options()
        options.replicasPerMaster = 0
        try await withRedisCluster(options) { cluster async throws in
            // Every node forgets who serves slots 100-109: no master serves them any more.
            let slots = (100...109).map(String.init)
            for port in cluster.ports {
                _ = try await cluster.send(RedisCommand("CLUSTER", ["DELSLOTS"] + slots), to: port)
            }
            let seed = cluster.ports[0]
            let failed = try await waitUntil(timeout: .seconds(60), interval: .milliseconds(50)) {
                let info = try await cluster.send(RedisCommand("CLUSTER", "INFO"), to: seed).string ?? ""
                return info.contains("cluster_state:fail")
            }
            #expect(failed, "the cluster did not notice the uncovered slots")

            let result = try await CLI.run(["doctor", "--redis", "redis://127.0.0.1:\(seed)"])
            #expect(result.status == 70, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
            #expect(result.stderr.contains("slots 100-109 have no master"), "\(result.stderr)")
            #expect(result.stderr.contains("cluster_state is fail"), "\(result.stderr)")
            #expect(result.stdout.contains("cluster: state fail, 16374 of 16384 slots served"), "\(result.stdout)")
        }
    }

    @Test("a master that does not answer: exit 70 naming it")
    func unreachableMaster() async throws {
        var options = RedisTestCluster.Options()
        options.replicasPerMaster = 0
        // No node is declared failed during the test: the cluster still lists the dead master as
        // serving its slots, as it does in the seconds before a replica takes over.
        options.nodeTimeoutMilliseconds = 120_000
        try await withRedisCluster(options) { cluster async throws in
            let dead = cluster.ports[1]
            try await cluster.kill(node: dead)
            let result = try await CLI.run([
                "doctor", "--redis", "redis://127.0.0.1:\(cluster.ports[0])", "--format", "json",
            ])
            #expect(result.status == 70, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
            #expect(result.stderr.contains("master 127.0.0.1:\(dead)"), "\(result.stderr)")
            #expect(result.stderr.contains("is unreachable"), "\(result.stderr)")
            let object = try jsonObject(result.stdout)
            let nodes = try #require((object["cluster"] as? [String: Any])?["nodes"] as? [[String: Any]])
            let node = try #require(nodes.first { $0["address"] as? String == "127.0.0.1:\(dead)" })
            #expect(node["reachable"] as? Bool == false)
            #expect(node["role"] as? String == "master")
            let others = nodes.filter { $0["address"] as? String != "127.0.0.1:\(dead)" }
            #expect(others.count == 2 && others.allSatisfy { $0["reachable"] as? Bool == true })
        }
    }
}

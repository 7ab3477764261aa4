import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import RedisClient
import RedisTestSupport
import Testing
import TokenLedger

@testable import TokenLedgerService

/// `tokenledger serve` on a real Redis Cluster (3 masters, 3 replicas): records, reservations,
/// reads, readiness and metrics for users on every master, through the same routes as on one Redis.
@Suite("Service on a Redis Cluster")
struct ClusterServiceTests {
    @Test(
        "records and reservations for users on every master; /readyz checks the scripts on every master; /metrics renders"
    )
    func serveOnCluster() async throws {
        let cluster = try await RedisTestCluster.shared()
        let masters = try await cluster.topology().filter { $0.role == .master }
        #expect(masters.count == 3)
        // User keys are NS:{user}:…, so a user id that is a master's hash tag lives on that master.
        let users = masters.enumerated().map { index, master in master.hashTag(prefix: "svc\(index)-")! }
        let namespace = uniqueNamespace("csvc")
        var redis = try RedisConfiguration(url: cluster.seedURL)
        redis.connectTimeout = .seconds(2)
        let configuration = try ServerConfiguration(
            port: 0,
            ledger: TokenLedgerConfiguration(redis: redis, ledger: try LedgerConfiguration(namespace: namespace)),
            poolWait: .seconds(120))
        let server = try TokenLedgerServer(configuration: configuration)
        let keys = try await testKeys(server: server, namespace: namespace)
        do {
            try await server.application().test(.live) { client in
                func send(_ method: HTTPRequest.Method, _ path: String, key: String?, body: String? = nil) async throws
                    -> Answer
                {
                    var headers: HTTPFields = [:]
                    if let key { headers[.authorization] = "Bearer \(key)" }
                    if body != nil { headers[.contentType] = "application/json" }
                    let response = try await client.executeRequest(
                        uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
                    return Answer(
                        status: response.status.code, headers: response.headers, text: String(buffer: response.body))
                }

                for (index, user) in users.enumerated() {
                    let record = json([
                        "user": user, "call_id": "c\(index)", "input_tokens": 10 + index, "output_tokens": 5,
                        "model": "m1",
                    ])
                    let first = try await send(.post, "/v1/usage", key: keys.app, body: record)
                    #expect(first.status == 200, "\(first.text)")
                    #expect(first.json["applied"] as? Bool == true)
                    let retry = try await send(.post, "/v1/usage", key: keys.app, body: record)
                    #expect(retry.status == 200)
                    #expect(retry.json["applied"] as? Bool == false, "a retry is counted once")

                    let limit = try await send(
                        .put, "/v1/users/\(user)/limit", key: keys.admin, body: json(["tokens": 100]))
                    #expect(limit.status == 200, "\(limit.text)")
                    let reserve = json(["user": user, "call_id": "r\(index)", "tokens": 60, "ttl_seconds": 60])
                    let admitted = try await send(.post, "/v1/reservations", key: keys.app, body: reserve)
                    #expect(admitted.status == 201, "\(admitted.text)")
                    let denied = try await send(
                        .post, "/v1/reservations", key: keys.app,
                        body: json(["user": user, "call_id": "x\(index)", "tokens": 30]))
                    #expect(denied.status == 429, "used \(15 + index) + reserved 60 + 30 > 100: \(denied.text)")
                    let settled = try await send(
                        .post, "/v1/reservations/r\(index)/settle", key: keys.app,
                        body: json(["user": user, "input_tokens": 20, "output_tokens": 10]))
                    #expect(settled.status == 200, "\(settled.text)")
                    #expect(settled.json["released_tokens"] as? Int == 60)

                    let usage = try await send(.get, "/v1/users/\(user)/usage", key: keys.read)
                    #expect(usage.status == 200, "\(usage.text)")
                    #expect(usage.json["total_tokens"] as? Int == 15 + index + 30)
                    #expect(usage.json["calls"] as? Int == 2)
                    #expect(usage.json["reserved"] as? Int == 0)
                }
                // Every user's keys are on the master its hash tag names.
                for (index, user) in users.enumerated() {
                    let direct = RedisConnectionPool(
                        configuration: try cluster.configuration(port: masters[index].port))
                    let profile = try LedgerKeys(namespace: namespace).user(user).profile
                    let limit = try await direct.send(RedisCommand("HGET", profile, "limit"))
                    #expect(limit.string == "100", "user \(user) lives on master \(masters[index].port)")
                    await direct.close()
                }

                let report = try await send(.get, "/v1/report", key: keys.read)
                #expect(report.status == 200, "\(report.text)")
                #expect((report.json["users"] as? [Any])?.count == users.count, "\(report.text)")

                // Readiness checks the scripts on every master (and loads any one lacks): afterwards every
                // master has every script. (No SCRIPT FLUSH here: the cluster is shared with tests that
                // run at the same time; HealthTests flushes a private server.)
                let ready = try await send(.get, "/readyz", key: nil)
                #expect(ready.status == 200, "\(ready.text)")
                let digests = Array(server.repository.scriptDigests.values)
                for master in masters {
                    let direct = RedisConnectionPool(configuration: try cluster.configuration(port: master.port))
                    let loaded = try await direct.send(SCRIPT.EXISTS(digests)).values.filter { $0 }.count
                    #expect(loaded == digests.count, "master \(master.port) has every script")
                    await direct.close()
                }
                let afterReady = try await send(
                    .post, "/v1/usage", key: keys.app,
                    body: json(["user": users[0], "call_id": "after-ready", "input_tokens": 1, "output_tokens": 1]))
                #expect(afterReady.status == 200, "\(afterReady.text)")

                // Per-node pool metrics and process-wide ones in one Prometheus text.
                let metrics = try await send(.get, "/metrics", key: nil)
                #expect(metrics.status == 200)
                let samples = try PrometheusText.parse(metrics.text).get()
                let applied = samples.first {
                    $0.name == "tokenledger_records_total" && $0.labels["result"] == "applied"
                }
                #expect(applied?.value == Double(users.count * 2 + 1), "\(metrics.text.prefix(2000))")
                #expect(samples.contains { $0.name.hasPrefix("tokenledger_redis_round_trip_seconds") })
                let nodes = Set(samples.compactMap { $0.labels["node"] })
                #expect(nodes.count >= masters.count, "per-node series for every master: \(nodes)")
                for user in users { #expect(!metrics.text.contains(user)) }
            }
            await server.close()
        } catch {
            await server.close()
            throw error
        }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Prometheus
import RedisClient
import RedisTestSupport
import TokenLedger

@testable import TokenLedgerService

/// One running service for a test: a real redis-server, a real HTTP server on a free port
/// (HummingbirdTesting's `.live`: requests go over a socket), its own namespace and keys.
struct ServiceHarness: Sendable {
    let server: TokenLedgerServer
    let redis: RedisTestServer
    let namespace: String
    /// A keep-alive client on the live server's port with a long read timeout: `.live`'s own
    /// client gives up after 20 s, which a test restarting Redis on a loaded machine can exceed
    /// (the bound only decides how long a broken test hangs, never a result).
    let client: TestClient
    /// The bound port.
    let port: Int
    /// Secrets of keys with each role.
    let appKey: String
    let readKey: String
    let adminKey: String

    /// A repository on the same Redis and namespace, to read back what the service wrote.
    var repository: TokenRepository { server.repository }
}

/// A parsed HTTP answer.
struct Answer: Sendable {
    let status: Int
    let headers: HTTPFields
    let text: String

    /// The body as a JSON object (empty when it is not one).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    /// A header's value.
    func header(_ name: HTTPField.Name) -> String? { headers[name] }
}

extension ServiceHarness {
    /// Sends a request with the key given (default: admin, which may do everything).
    func send(
        _ method: HTTPRequest.Method, _ path: String, key: String?? = .none, body: String? = nil,
        bytes: [UInt8]? = nil, headers extra: HTTPFields = [:]
    ) async throws -> Answer {
        var headers = extra
        let secret: String? =
            switch key {
            case .none: adminKey
            case .some(let given): given
            }
        if let secret { headers[.authorization] = "Bearer \(secret)" }
        var buffer: ByteBuffer?
        if let body { buffer = ByteBuffer(string: body) }
        if let bytes { buffer = ByteBuffer(bytes: bytes) }
        if buffer != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        headers[.connection] = "keep-alive"
        let request = TestClient.Request(path, method: method, authority: "localhost", headers: headers, body: buffer)
        let response = try await client.execute(request)
        return Answer(
            status: response.status.code, headers: response.headers,
            text: response.body.map { String(buffer: $0) } ?? "")
    }
}

/// Runs `body` against a fresh service on a fresh redis-server.
///
/// - Parameters:
///   - spool: Whether records spool (202) when Redis is down.
///   - persistent: Whether Redis keeps its data across a stop and restart (append-only, fsync always).
///   - bodyLimit: The service's body limit.
///   - recordTimeout: With a spool, how long a record waits for Redis.
///   - commandTimeout: How long the service's Redis connections wait for a reply (default the
///     configuration's).
func withService<T: Sendable>(
    spool: Bool = false, persistent: Bool = false, bodyLimit: Int = ServerConfiguration.defaultBodyLimit,
    recordTimeout: Duration = .milliseconds(500), commandTimeout: Duration? = nil,
    _ body: @Sendable @escaping (ServiceHarness) async throws -> T
) async throws -> T {
    var options = RedisTestServer.Options()
    if persistent {
        options.appendOnly = true
        options.appendFsync = "always"
    }
    return try await withRedisServer(options) { redis in
        let namespace = uniqueNamespace("svc")
        let spoolDirectory =
            spool
            ? FileManager.default.temporaryDirectory.appendingPathComponent("svc-spool-\(UUID().uuidString)").path : nil
        defer { if let spoolDirectory { try? FileManager.default.removeItem(atPath: spoolDirectory) } }
        var redisConfiguration = redis.configuration
        redisConfiguration.connectTimeout = .seconds(2)
        if let commandTimeout { redisConfiguration.commandTimeout = commandTimeout }
        let configuration = try ServerConfiguration(
            port: 0, bodyLimit: bodyLimit,
            ledger: TokenLedgerConfiguration(
                redis: redisConfiguration, ledger: try LedgerConfiguration(namespace: namespace),
                local: .init(spoolDirectory: spoolDirectory)),
            recordTimeout: recordTimeout,
            // A long wait for a free pooled connection: 20 concurrent requests on a loaded 2-core
            // machine can hold all 16 connections for long; waiting changes no result.
            poolWait: .seconds(120))
        let server = try TokenLedgerServer(configuration: configuration)
        let keys = try await testKeys(server: server, namespace: namespace)
        do {
            let value = try await server.application().test(.live) { live in
                try await withPatientClient(port: live.port ?? 0) { client, port in
                    try await body(
                        ServiceHarness(
                            server: server, redis: redis, namespace: namespace, client: client, port: port,
                            appKey: keys.app, readKey: keys.read, adminKey: keys.admin))
                }
            }
            await server.close()
            return value
        } catch {
            await server.close()
            throw error
        }
    }
}

/// Runs `body` with a keep-alive ``TestClient`` on `port` whose read timeout is 300 s (see
/// ``ServiceHarness/client``), shut down afterwards.
func withPatientClient<T: Sendable>(port: Int, _ body: (TestClient, Int) async throws -> T) async throws -> T {
    let client = TestClient(host: "localhost", port: port, configuration: .init(timeout: .seconds(300)))
    client.connect()
    do {
        let value = try await body(client, port)
        try? await client.shutdown()
        return value
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// `{"k":v}` for a JSON body.
func json(_ fields: [String: Any]) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self)
}

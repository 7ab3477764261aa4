import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RedisClient
import TokenLedger

extension TokenLedgerServer {
    /// `GET /healthz`, `GET /readyz`, `GET /metrics`, `GET /openapi.yaml`: no key needed.
    func healthRoutes() -> [(Route, Handler)] {
        [
            (
                Route(method: .get, path: "/healthz", access: .open),
                { _, _ in try JSONResponse.make(HealthOutput(status: "ok")) }
            ),
            (Route(method: .get, path: "/readyz", access: .open), { _, _ in try await self.readiness() }),
            (
                Route(method: .get, path: "/metrics", access: .open),
                { _, _ in
                    var bytes: [UInt8] = []
                    self.registry.emit(into: &bytes)
                    return Response(
                        status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
                }
            ),
            (
                Route(method: .get, path: "/openapi.yaml", access: .open),
                { _, _ in
                    Response(
                        status: .ok, headers: [.contentType: "application/yaml"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: try OpenAPIDocument.bytes())))
                }
            ),
        ]
    }

    /// 200 when Redis answers, the namespace's schema is one this build writes (absent: a new
    /// namespace, or the current version) and TokenLedger's Lua scripts are in the server's script
    /// cache (loaded here when missing, e.g. after `SCRIPT FLUSH` or a restart, if this Redis user
    /// may load them; see ``scriptsProblem()``); 503 with the reason otherwise.
    func readiness() async throws -> Response {
        let notReady = { (redis: String, schema: String?, reason: String) in
            try JSONResponse.make(
                HealthOutput(status: "unavailable", redis: redis, schema: schema, reason: reason),
                status: .serviceUnavailable)
        }
        let stored: String?
        do {
            _ = try await pool.send(PING())
            stored = try await pool.send(GET(repository.keys.schema))
        } catch {
            // No key is needed here: the reason names the kind of failure, never Redis's address
            // (the full message goes to the log).
            logger.warning("not ready: redis does not answer", metadata: ["error": "\(Problem.detail(of: error))"])
            let kind = (error as? RedisError)?.code.rawValue ?? "\(ErrorCategory.of(error))"
            return try notReady("unavailable", nil, "redis does not answer (\(kind))")
        }
        guard let stored else { return try await scriptsReady(schema: "new", notReady: notReady) }
        guard let version = Int(stored) else {
            return try notReady("ok", "unreadable", "the stored schema version is not a number")
        }
        if version < LedgerKeys.schemaVersion {
            return try notReady(
                "ok", "older",
                "schema version \(version) is older than this build's \(LedgerKeys.schemaVersion): run tokenledger migrate"
            )
        }
        if version > LedgerKeys.schemaVersion {
            return try notReady(
                "ok", "newer",
                "schema version \(version) is newer than this build's \(LedgerKeys.schemaVersion): upgrade tokenledger")
        }
        return try await scriptsReady(schema: "current", notReady: notReady)
    }

    /// The answer once Redis and the schema are fine: 200 when the scripts are loaded (or were just
    /// loaded), 503 naming the missing scripts otherwise.
    private func scriptsReady(
        schema: String, notReady: (String, String?, String) throws -> Response
    ) async throws -> Response {
        let problem: String?
        do {
            problem = try await scriptsProblem()
        } catch {
            logger.warning("not ready: the script check failed", metadata: ["error": "\(Problem.detail(of: error))"])
            let kind = (error as? RedisError)?.code.rawValue ?? "\(ErrorCategory.of(error))"
            // Redis may have gone away between the schema read and the script check.
            let redis = ErrorCategory.of(error) == .unavailable ? "unavailable" : "ok"
            return try notReady(redis, schema, "the Lua scripts could not be checked (\(kind))")
        }
        if let problem {
            logger.warning("not ready: lua scripts are not loaded", metadata: ["reason": "\(problem)"])
            return try notReady("ok", schema, problem)
        }
        return try JSONResponse.make(HealthOutput(status: "ok", redis: "ok", schema: schema))
    }
}

/// The OpenAPI 3.1 document (`Resources/openapi.yaml`), the service's contract.
public enum OpenAPIDocument {
    /// The document's bytes.
    ///
    /// - Throws: ``ServiceError`` (`internal`) when the resource is missing from the installation, or
    ///   the error reading it.
    public static func bytes() throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else {
            throw ServiceError(.internalError, "the OpenAPI document is missing from the installation")
        }
        return Array(try Data(contentsOf: url))
    }
}

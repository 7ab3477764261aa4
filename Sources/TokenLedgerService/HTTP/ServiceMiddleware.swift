import Foundation
import HTTPTypes
import Hummingbird
import Logging
import TokenLedger

/// Wraps every request: turns any error into an RFC 9457 problem (a 404 on a known path with
/// another method into 405 with `Allow`), and counts the request by route template and status.
struct ServiceMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext
    let server: TokenLedgerServer

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = problemResponse(for: error, request: request, context: context)
        }
        server.metrics.request(
            route: Self.isUnmatched(context) ? "unmatched" : context.endpointPath ?? "unmatched",
            method: request.method.rawValue, status: response.status.code,
            duration: ContinuousClock.now - start)
        return response
    }

    /// Whether no route matched (Hummingbird names the not-found responder's path `NotFound`).
    static func isUnmatched(_ context: Context) -> Bool {
        context.endpointPath == nil || context.endpointPath == "NotFound"
    }

    func problemResponse(for error: any Error, request: Request, context: Context) -> Response {
        var problem = Problem.of(error)
        var headers: HTTPFields = [:]
        if problem.status == 404, Self.isUnmatched(context) {
            let allowed = server.methods(matching: request.uri.path)
            if !allowed.isEmpty {
                problem = Problem(
                    status: .methodNotAllowed, code: ServiceError.Code.methodNotAllowed.rawValue,
                    detail: "\(request.method.rawValue) is not allowed here; use "
                        + allowed.map(\.rawValue).joined(separator: ", "))
                headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
            }
        }
        if let denied = error as? QuotaDenial, let retryAfter = denied.retryAfterSeconds {
            headers[.retryAfter] = String(retryAfter)
        }
        if problem.status == 401 { headers[.wwwAuthenticate] = "Bearer" }
        if problem.status >= 500 {
            context.logger.error(
                "request failed",
                metadata: ["tokenledger.code": .string(problem.code), "tokenledger.status": "\(problem.status)"])
        }
        return JSONResponse.problem(problem, headers: headers)
    }
}

/// A reservation the quota did not admit: answered 429 with the decision and `Retry-After`.
struct QuotaDenial: Error, Sendable {
    var decision: QuotaDecision
    /// Seconds until the user's cycle ends (when the limit resets), if known.
    var retryAfterSeconds: Int?
}

import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RedisClient
import TokenLedger

/// One admitted proxy call: its request, its call id and what it holds.
struct ProxyCall: Sendable {
    let request: ProxyRequest
    /// The reservation's (and the settle's) call id: `proxy-<uuid>`.
    let callID: String
    /// Whether a lease is held (false: admitted without Redis, fail-open).
    let reserved: Bool
    /// The user's tokens left after this call's reservation; `nil` when unlimited or unknown.
    let remaining: Int?
    /// The user's dollars left after this call's reservation; `nil` without a currency limit, or unknown.
    let remainingUSD: Cost?
}

extension TokenLedgerServer {
    /// The proxy routes: role app, the key as OpenAI's `Authorization: Bearer` or Anthropic's
    /// `x-api-key` (see ``bearerFromAPIKeyHeader(_:)``). Fail-open, they accept a key Redis
    /// confirmed recently while Redis is down (as record and settle do with a spool), so a call can
    /// go on unreserved and its settle be spooled.
    func proxyRoutes() -> [(Route, Handler)] {
        let failOpen = proxyForwarder.configuration.whenUnavailable == .failOpen
        return ProxyEndpoint.allCases.map { endpoint in
            (
                Route(method: .post, path: endpoint.routePath, access: .app, spoolable: failOpen),
                { request, context in
                    try await self.proxy(request, endpoint: endpoint, keyDefaultUser: context.apiKey?.defaultUser)
                }
            )
        }
    }

    /// Whether `path` is a proxy route's (their key may come as `x-api-key`).
    static func isProxyPath(_ path: String) -> Bool { path.hasPrefix(ProxyEndpoint.prefix) }

    /// What the key check (``authorize(_:access:spoolable:)``) reads of a proxy request: its head,
    /// with an Anthropic-style `x-api-key` as `Authorization: Bearer`, so one check serves both SDKs
    /// (a request with an `Authorization` header is checked by it). No body: the handler reads the
    /// original request's.
    static func bearerFromAPIKeyHeader(_ request: Request) -> Request {
        guard request.headers[.authorization] == nil, let key = request.headers[HTTPField.Name("x-api-key")!]
        else { return request }
        var head = request.head
        head.headerFields[.authorization] = "Bearer \(key)"
        return Request(head: head, body: RequestBody(buffer: ByteBuffer()))
    }

    /// A proxied call: read and check the request, reserve, forward, stream the answer back, settle.
    ///
    /// - Parameters:
    ///   - request: The client's request.
    ///   - endpoint: The route it came to.
    ///   - keyDefaultUser: The default user of the API key it was authenticated with (`key create
    ///     --default-user`); it wins over the configured default user.
    func proxy(_ request: Request, endpoint: ProxyEndpoint, keyDefaultUser: String? = nil) async throws -> Response {
        let forwarder = proxyForwarder
        let bytes = try await request.body.collect(upTo: configuration.bodyLimit)
        let parsed: ProxyRequest
        do {
            parsed = try ProxyRequest(
                body: Array(bytes.readableBytesView), endpoint: endpoint,
                headerUser: request.headers[ProxyHeaders.user], keyDefaultUser: keyDefaultUser,
                configuration: forwarder.configuration, counting: forwarder.counting)
        } catch {
            forwarder.metrics.call(endpoint, model: "", outcome: .badRequest)
            throw error
        }
        let callID = "proxy-\(UUID().uuidString.lowercased())"
        var reservation: Reservation?
        do {
            let reserved = try await proxyReserve(parsed, callID: callID)
            metrics.decision(allowed: reserved.status != .denied)
            if reserved.status == .denied {
                forwarder.metrics.call(endpoint, model: parsed.model, outcome: .denied)
                return ProxyResponses.denial(
                    reserved.decision, provider: endpoint.provider,
                    retryAfterSeconds: await retryAfterSeconds(reserved.decision))
            }
            reservation = reserved
        } catch let error where Self.meansRedisUnavailable(error) {
            switch forwarder.configuration.whenUnavailable {
            case .failOpen:
                logger.warning(
                    "redis unavailable: proxied call forwarded without a reservation (fail-open)",
                    metadata: ["tokenledger.call_id": "\(callID)", "tokenledger.error": "\(error)"])
            case .failClosed:
                logger.warning(
                    "redis unavailable: proxied call refused (fail-closed)",
                    metadata: ["tokenledger.call_id": "\(callID)", "tokenledger.error": "\(error)"])
                forwarder.metrics.call(endpoint, model: parsed.model, outcome: .unavailable)
                throw error
            }
        }
        let call = ProxyCall(
            request: parsed, callID: callID, reserved: reservation != nil,
            remaining: reservation?.decision.remaining, remainingUSD: reservation?.decision.remainingUSD)
        let upstream: HTTPClientResponse
        do {
            upstream = try await forwarder.send(parsed, headers: request.headers, query: request.uri.query)
        } catch {
            await releaseProxyCall(call)
            forwarder.metrics.call(endpoint, model: parsed.model, outcome: .unreachable)
            let failure = error as? ProxyUpstreamError ?? ProxyUpstreamError(.unreachable, "the provider failed")
            logger.warning(
                "proxied call: provider unreachable",
                metadata: ["tokenledger.call_id": "\(callID)", "tokenledger.code": "\(failure.kind.rawValue)"])
            return ProxyResponses.upstreamProblem(failure)
        }
        return await relay(upstream, call: call)
    }

    /// Reserves a call's prompt and maximum output, in tokens and in currency: the prompt priced at
    /// the model's input rate and the maximum output at its output rate (as ``QuotaGuard`` prices
    /// its estimate), in the same step, so a user's dollar limit holds before the provider is
    /// called. A model without a price reserves tokens only (its usage is unpriced too).
    func proxyReserve(_ request: ProxyRequest, callID: String) async throws -> Reservation {
        try await repository.reserve(
            user: request.user, callID: callID, tokens: request.reservedTokens,
            cost: try await proxyEstimateCost(request), ttl: proxyForwarder.configuration.leaseTTL)
    }

    /// The priced estimate of a proxied call (zero when its model has no price).
    func proxyEstimateCost(_ request: ProxyRequest) async throws -> Cost {
        guard request.reservationPromptTokens <= Validation.maximumTokenCount,
            request.maximumOutputTokens <= Validation.maximumTokenCount
        else { return .zero }  // out-of-range counts are refused by reserve, with the field named
        let estimate = UsageRecord(
            inputTokens: request.reservationPromptTokens, outputTokens: request.maximumOutputTokens)
        return try await repository.priceTable().cost(of: estimate, model: request.model)?.cost ?? .zero
    }

    /// Whether a reservation failed because Redis could not decide (the quota guard's rule: a
    /// transient failure, or a server that does not look like ours).
    static func meansRedisUnavailable(_ error: any Error) -> Bool {
        if ErrorCategory.of(error) == .unavailable { return true }
        guard let error = error as? RedisError else { return false }
        return error.code == .authenticationFailed || error.code == .protocolError
    }

    /// Settles a call with its usage without waiting for Redis: the settle is queued on the
    /// recorder's pipeline (`UsageRecorder.settleInBackground`)
    /// and applied there, or spooled when Redis cannot take it (with a spool); what happens to it is
    /// counted in the recorder's metrics and logged by it. The client's answer does not depend on
    /// the settle, so it does not wait for its round trip; queueing is not cancellable, so a
    /// cancelled request (a server shutting down mid-stream) still settles, and the recorder, which
    /// stops after the HTTP server, sends what was queued.
    func settleProxyCall(_ call: ProxyCall, usage: UsageRecord, model: String?) async {
        let endpoint = call.request.endpoint
        let reported = model.flatMap { !$0.isEmpty && (try? Validation.validateModel($0)) != nil ? $0 : nil }
        await recorder.settleInBackground(
            user: call.request.user, callID: call.callID, usage: usage, model: reported ?? call.request.model,
            provider: endpoint.providerName)
        let estimated = usage.source == .estimated
        proxyForwarder.metrics.call(endpoint, model: call.request.model, outcome: estimated ? .estimated : .settled)
        proxyForwarder.metrics.tokens(
            endpoint, model: call.request.model, input: usage.inputTokens, output: usage.outputTokens)
        if estimated {
            logger.notice(
                "proxied call settled with an estimate: the provider's usage did not arrive",
                metadata: ["tokenledger.call_id": "\(call.callID)", "tokenledger.total_tokens": "\(usage.totalTokens)"])
        }
    }

    /// Drops a call's lease (the provider billed nothing), out of reach of cancellation.
    func releaseProxyCall(_ call: ProxyCall) async {
        guard call.reserved else { return }
        let repository = self.repository
        let logger = self.logger
        await Self.shielded {
            do {
                _ = try await repository.release(user: call.request.user, callID: call.callID)
            } catch {
                logger.error(
                    "proxied call: release failed; the reservation will expire by itself",
                    metadata: ["tokenledger.call_id": "\(call.callID)", "tokenledger.error": "\(error)"])
            }
        }
    }

    /// Runs `body` in a task of its own and waits for it, so a cancelled request (a server shutting
    /// down mid-stream) still settles or releases. Structured enough: the caller awaits the task
    /// before going on, so it never outlives the request; it is a task of its own only because a
    /// child task cannot be shielded from its parent's cancellation (as ``QuotaGuard`` releases).
    static func shielded<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T {
        await Task { await body() }.value  // awaited: see above
    }
}

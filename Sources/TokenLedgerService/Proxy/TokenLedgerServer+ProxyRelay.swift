import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import NIOCore
import TokenLedger

extension TokenLedgerServer {
    /// The most bytes of a provider's error answer read (errors are small; a larger one is cut).
    static let maximumErrorBodyBytes = 1 << 20

    /// The client's response to a provider's answer.
    ///
    /// - An error status (not 2xx): the provider's body and status as they are; the call settles
    ///   what the body reports as billed, else its lease is released.
    /// - A success: a JSON body of announced length is read whole and answered in one write (see
    ///   ``relayWhole(_:length:status:headers:call:)``); any other body streams through as it
    ///   arrives (an event stream event by event, the usage chunk the proxy asked for left out):
    ///   see ``streamBody(_:call:isStream:)``. The settle is queued when the provider's answer
    ///   has been read, not awaited (see ``settleProxyCall(_:usage:model:)``).
    func relay(_ upstream: HTTPClientResponse, call: ProxyCall) async -> Response {
        var headers = ProxyHeaders.downstream(from: upstream.headers)
        headers[ProxyHeaders.callID] = call.callID
        if let remaining = call.remaining { headers[ProxyHeaders.remainingTokens] = String(remaining) }
        if let remaining = call.remainingUSD { headers[ProxyHeaders.remainingUSD] = remaining.description }
        let status = HTTPResponse.Status(code: Int(upstream.status.code))
        guard (200..<300).contains(status.code) else {
            return await relayError(upstream, status: status, headers: headers, call: call)
        }
        let isStream = upstream.headers.first(name: "content-type")?.lowercased().contains("text/event-stream") ?? false
        if !isStream, let length = upstream.headers.first(name: "content-length").flatMap(Int.init),
            length <= ProxyUsageTracker.maximumBodyBytes
        {
            return await relayWhole(upstream.body, length: length, status: status, headers: headers, call: call)
        }
        return Response(
            status: status, headers: headers, body: streamBody(upstream.body, call: call, isStream: isStream))
    }

    /// A provider's error answer, passed on; settles what it reports as billed, else releases.
    func relayError(
        _ upstream: HTTPClientResponse, status: HTTPResponse.Status, headers: HTTPFields, call: ProxyCall
    ) async -> Response {
        var body: [UInt8] = []
        do {
            for try await chunk in upstream.body {
                body.append(contentsOf: chunk.readableBytesView.prefix(Self.maximumErrorBodyBytes - body.count))
                if body.count >= Self.maximumErrorBodyBytes { break }
            }
        } catch {
            // What arrived is passed on; the status says the call failed.
        }
        if let billed = ProxyUsageTracker.billedUsage(inErrorBody: body, endpoint: call.request.endpoint) {
            await settleProxyCall(call, usage: billed, model: nil)
        } else {
            await releaseProxyCall(call)
            proxyForwarder.metrics.call(call.request.endpoint, model: call.request.model, outcome: .released)
        }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// A successful JSON answer whose length the provider announced (within
    /// ``ProxyUsageTracker/maximumBodyBytes``): read whole, its settle queued, then answered in one
    /// write with its length. The client could not use a part of a JSON body anyway, and one write
    /// costs the server less than a chunked stream. A body that fails or stalls past the read
    /// timeout is answered with what arrived and settled as an estimate, as a stream is.
    func relayWhole(
        _ body: HTTPClientResponse.Body, length: Int, status: HTTPResponse.Status, headers: HTTPFields,
        call: ProxyCall
    ) async -> Response {
        let estimator = proxyForwarder.counting.estimator(forModel: call.request.model)
        var state = ProxyStreamState(call: call, estimator: estimator, isStream: false)
        var whole = ByteBuffer()
        do {
            for try await chunk in body {
                _ = state.take(chunk)
                if whole.readableBytes == 0 && chunk.readableBytes >= length {
                    whole = chunk  // the usual case: one chunk, not copied
                } else {
                    if whole.capacity < length { whole.reserveCapacity(length) }
                    whole.writeImmutableBuffer(chunk)
                }
            }
        } catch {
            // The provider's body failed or stalled past the read timeout: what arrived is
            // passed on and settled below (an estimate unless its usage had come).
        }
        let (usage, model) = state.usage(promptTokens: call.request.promptTokens)
        await settleProxyCall(call, usage: usage, model: model)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: whole))
    }

    /// The body of a successful answer, streamed through as it arrives.
    ///
    /// When the client goes away mid-stream, the provider's stream is still read (not forwarded)
    /// until its usage arrives, for at most the drain timeout, a silent provider included (the
    /// read is cancelled at the bound); what arrived by then is settled: the usage, else an
    /// estimate marked `estimated`. A provider stream that fails or stalls past the read timeout
    /// settles an estimate the same way. A body Hummingbird never writes (the client left before
    /// the response head went out) settles the prompt as an estimate when the response is dropped.
    func streamBody(_ upstream: HTTPClientResponse.Body, call: ProxyCall, isStream: Bool) -> ResponseBody {
        let estimator = proxyForwarder.counting.estimator(forModel: call.request.model)
        let drainTimeout = proxyForwarder.configuration.drainTimeout
        let logger = self.logger
        let unwritten = ProxyBodyGuard { [self] in
            let state = ProxyStreamState(call: call, estimator: estimator, isStream: isStream)
            logger.notice(
                "proxied call: the response was dropped before its body was written",
                metadata: ["tokenledger.call_id": "\(call.callID)"])
            await self.settleProxyCall(
                call, usage: state.usage(promptTokens: call.request.promptTokens).record, model: nil)
        }
        return ResponseBody { writer in
            unwritten.disarm()
            var state = ProxyStreamState(call: call, estimator: estimator, isStream: isStream)
            let source = ProxyUpstreamSource(upstream)
            var clientLeft = false
            do {
                while let chunk = try await source.next() {
                    let shown = state.take(chunk)
                    guard shown.readableBytes > 0 else { continue }
                    do {
                        try await writer.write(shown)
                    } catch {
                        clientLeft = true
                        break
                    }
                }
                if !clientLeft, let rest = state.finish(), rest.readableBytes > 0 {
                    do { try await writer.write(rest) } catch { clientLeft = true }
                }
            } catch {
                // The provider's stream failed or stalled past the read timeout: settled below from
                // what arrived (an estimate unless its usage had come).
            }
            if clientLeft {
                logger.debug(
                    "proxied call: the client left mid-stream; reading the provider's stream for its usage",
                    metadata: ["tokenledger.call_id": "\(call.callID)"])
                state = await Self.drain(source, from: state, until: .now + drainTimeout)
            }
            let (usage, model) = state.usage(promptTokens: call.request.promptTokens)
            await self.settleProxyCall(call, usage: usage, model: model)
            if !clientLeft { try await writer.finish(nil) }
        }
    }

    /// Reads the rest of a provider's answer nobody receives any more, until its usage arrived or
    /// it ended, for at most until `deadline`: the read runs in a child task that the bound
    /// cancels (a silent provider is not waited for until the read timeout). Returns the state
    /// with what arrived.
    static func drain(
        _ source: ProxyUpstreamSource, from state: ProxyStreamState, until deadline: ContinuousClock.Instant
    ) async -> ProxyStreamState {
        await withTaskGroup(of: ProxyStreamState?.self) { group in
            group.addTask {
                var state = state
                do {
                    while !state.tracker.sawFinalUsage, let chunk = try await source.next() { _ = state.take(chunk) }
                    if !state.tracker.sawFinalUsage { _ = state.finish() }
                } catch {
                    // Failed, stalled or cut at the bound: what arrived is kept.
                }
                return state
            }
            group.addTask {
                try? await Task.sleep(until: deadline)
                return nil
            }
            var drained = state
            while let result = await group.next() {
                group.cancelAll()
                if let result {
                    drained = result
                    break
                }
            }
            return drained
        }
    }
}

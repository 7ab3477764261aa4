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
    /// - A success: the body streams through as it arrives (an event stream event by event, the
    ///   usage chunk the proxy asked for left out), and the call settles from the provider's usage
    ///   before the response ends: see ``streamBody(_:call:isStream:)``.
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

    /// The body of a successful answer, streamed through as it arrives.
    ///
    /// When the client goes away mid-stream, the provider's stream is still read (not forwarded)
    /// until its usage arrives, for at most the drain timeout (a silent provider is cut by the read
    /// timeout); what arrived by then is settled: the usage, else an estimate marked `estimated`.
    /// A provider stream that fails or stalls settles an estimate the same way.
    func streamBody(_ upstream: HTTPClientResponse.Body, call: ProxyCall, isStream: Bool) -> ResponseBody {
        let estimator = proxyForwarder.counting.estimator(forModel: call.request.model)
        let drainTimeout = proxyForwarder.configuration.drainTimeout
        let logger = self.logger
        return ResponseBody { writer in
            var tracker = ProxyUsageTracker(endpoint: call.request.endpoint, estimator: estimator)
            var splitter = SSEEventSplitter()
            var drainDeadline: ContinuousClock.Instant?
            /// Forwards bytes unless the client left; notes when it leaves.
            func forward(_ buffer: ByteBuffer, to writer: inout any ResponseBodyWriter) async {
                guard drainDeadline == nil, buffer.readableBytes > 0 else { return }
                do {
                    try await writer.write(buffer)
                } catch {
                    drainDeadline = .now + drainTimeout
                    logger.debug(
                        "proxied call: the client left mid-stream; reading the provider's stream for its usage",
                        metadata: ["tokenledger.call_id": "\(call.callID)"])
                }
            }
            /// The events a chunk completes that the client sees.
            func visible(_ events: [(bytes: [UInt8], complete: Bool)]) -> ByteBuffer {
                var out = ByteBuffer()
                for (bytes, complete) in events {
                    let shown =
                        !complete || tracker.observe(SSEEvent(bytes), hidingUsageChunk: call.request.hidesUsageChunk)
                    if shown { out.writeBytes(bytes) }
                }
                return out
            }
            do {
                for try await chunk in upstream {
                    if isStream {
                        await forward(visible(splitter.feed(chunk.readableBytesView)), to: &writer)
                    } else {
                        tracker.observeBody(chunk.readableBytesView)
                        await forward(chunk, to: &writer)
                    }
                    if let drainDeadline, tracker.sawFinalUsage || .now >= drainDeadline { break }
                }
                if isStream, let rest = splitter.finish() { await forward(visible([(rest, true)]), to: &writer) }
            } catch {
                // The provider's stream failed or stalled past the read timeout: settled below from
                // what arrived (an estimate unless its usage had come).
            }
            let (usage, model) = tracker.usage(stream: isStream, promptTokens: call.request.promptTokens)
            await self.settleProxyCall(call, usage: usage, model: model)
            if drainDeadline == nil { try await writer.finish(nil) }
        }
    }
}

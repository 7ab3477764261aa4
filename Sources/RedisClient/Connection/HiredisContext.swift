import CHiredis
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Sole owner of one hiredis `redisContext*`.
///
/// Methods block on the socket. An instance is used by one thread at a time: the serial queue of
/// the ``RedisConnection`` that owns it, or, for the bounded inline steps (``write(_:)`` and
/// ``nextReply(waitingUpTo:)``), the thread of the connection's caller (see ``RedisConnection``).
/// The context is freed exactly once: ``close()`` is repeatable and `deinit` calls it.
final class HiredisContext {
    private var context: UnsafeMutablePointer<redisContext>?
    let configuration: RedisConfiguration

    /// hiredis writes with `write(2)`, so a server that goes away would raise SIGPIPE and end the
    /// process. Ignore it once, process-wide; the write then fails with EPIPE, which we report.
    private static let ignoreSIGPIPE: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()

    init(configuration: RedisConfiguration) {
        _ = HiredisContext.ignoreSIGPIPE
        self.configuration = configuration
    }

    deinit { close() }

    /// Whether a connected context is held.
    var isConnected: Bool { context != nil }

    /// Frees the context, if any. Safe to call repeatedly.
    func close() {
        if let context {
            redisFree(context)
            self.context = nil
        }
    }

    /// Connects, authenticates and selects the database. Replaces any previous context.
    func connect() throws(RedisError) {
        close()
        let connectTimeout = timeval(configuration.connectTimeout)
        let newContext: UnsafeMutablePointer<redisContext>?
        switch configuration.endpoint {
        case .tcp(let host, let port):
            newContext = redisConnectWithTimeout(host, Int32(port), connectTimeout)
        case .unix(let path):
            newContext = redisConnectUnixWithTimeout(path, connectTimeout)
        }
        guard let newContext else {
            throw RedisError(
                code: .connectionRefused,
                message: "could not allocate a connection to \(configuration.endpoint)"
            )
        }
        if newContext.pointee.err != 0 {
            let error = HiredisContext.error(from: newContext, phase: .connect, configuration: configuration)
            redisFree(newContext)
            throw error
        }
        context = newContext
        do {
            // The handshake is part of connecting, so it runs under the connect timeout.
            redisSetTimeout(newContext, connectTimeout)
            try handshake()
            redisSetTimeout(newContext, timeval(configuration.commandTimeout))
            if case .tcp = configuration.endpoint {
                // TCP keepalive notices a vanished peer; it does not apply to unix sockets.
                redisEnableKeepAlive(newContext)
            }
        } catch {
            close()
            throw error
        }
    }

    private func handshake() throws(RedisError) {
        // A user name alone still authenticates (with an empty password, which a `nopass` ACL user
        // accepts): connecting as `default` instead would silently use the wrong user.
        if configuration.password != nil || configuration.username != nil {
            var auth = [Array("AUTH".utf8)]
            if let username = configuration.username { auth.append(Array(username.utf8)) }
            auth.append(Array((configuration.password ?? "").utf8))
            let reply = try execute([RedisCommand(rawArguments: auth)], phase: .connect)[0]
            if case .error(let serverError) = reply {
                let who = configuration.username.map { "user '\($0)'" } ?? "the default user"
                throw RedisError(
                    code: .authenticationFailed,
                    message:
                        "authentication as \(who) at \(configuration.endpoint) failed: \(serverError.serverCode ?? "ERR") (check the password and the ACL user\(configuration.password == nil ? "; no password was given: set REDIS_PASSWORD" : ""))",
                    serverCode: serverError.serverCode
                )
            }
        }
        if configuration.database != 0 {
            let reply = try execute([RedisCommand("SELECT", configuration.database)], phase: .connect)[0]
            if case .error(let serverError) = reply {
                throw RedisError(
                    code: .invalidConfiguration,
                    message:
                        "cannot select database \(configuration.database) at \(configuration.endpoint): \(serverError.message)",
                    serverCode: serverError.serverCode
                )
            }
        }
    }

    /// Whether an idle connection can no longer be used: the peer closed it (readable with EOF),
    /// sent something unasked, or the socket is in error. A zero-timeout `poll(2)`, no I/O.
    func isStale() -> Bool {
        guard let context else { return true }
        if context.pointee.err != 0 { return true }
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, 0)
        return ready != 0
    }

    enum Phase { case connect, command }

    /// Sends all commands in one write and reads one reply per command, in order.
    ///
    /// Error replies come back as ``RedisReply/error(_:)`` in their slot. A transport failure throws
    /// and drops the context, so the next use reconnects.
    func execute(_ commands: [RedisCommand], phase: Phase = .command) throws(RedisError) -> [RedisReply] {
        if context == nil { try connect() }
        guard let context else {
            throw RedisError(code: .connectionClosed, message: "no connection to \(configuration.endpoint)")
        }
        for command in commands {
            let status = HiredisContext.append(command, to: context)
            if status != REDIS_OK {
                let error = HiredisContext.error(from: context, phase: phase, configuration: configuration)
                close()
                throw error
            }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            if redisGetReply(context, &raw) != REDIS_OK || raw == nil {
                let error = HiredisContext.error(from: context, phase: phase, configuration: configuration)
                close()
                throw error
            }
            defer { freeReplyObject(raw) }
            replies.append(HiredisContext.copy(raw!.assumingMemoryBound(to: redisReply.self)))
        }
        return replies
    }

    // MARK: - Sending and receiving in steps (the inline path of RedisConnection)

    /// Sends all commands (appended, then written until hiredis's output buffer is empty). Replies
    /// are read with ``nextReply(waitingUpTo:)`` or ``readReply()``. Does not connect.
    func write(_ commands: [RedisCommand]) throws(RedisError) {
        guard let context else {
            throw RedisError(code: .connectionClosed, message: "no connection to \(configuration.endpoint)")
        }
        for command in commands {
            if HiredisContext.append(command, to: context) != REDIS_OK { throw failure(context) }
        }
        var done: Int32 = 0
        while done == 0 {
            if redisBufferWrite(context, &done) != REDIS_OK { throw failure(context) }
        }
    }

    /// The next reply if it is already buffered or arrives within `budget`; `nil` when it has not
    /// (nothing is lost: a later read continues where this one stopped). Blocks at most about
    /// `budget`, rounded up to a millisecond, plus the time to read bytes already on their way.
    func nextReply(waitingUpTo budget: Duration) throws(RedisError) -> RedisReply? {
        guard let context else {
            throw RedisError(code: .connectionClosed, message: "no connection to \(configuration.endpoint)")
        }
        let deadline = ContinuousClock.now + budget
        while true {
            var raw: UnsafeMutableRawPointer?
            if redisGetReplyFromReader(context, &raw) != REDIS_OK { throw failure(context) }
            if let raw {
                defer { freeReplyObject(raw) }
                return HiredisContext.copy(raw.assumingMemoryBound(to: redisReply.self))
            }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return nil }
            // At most a day per poll (the deadline comes from a public timeout), so nothing overflows.
            let (seconds, attoseconds) = min(left, .seconds(86_400)).components
            let milliseconds = Int32(
                clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
            var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, max(1, milliseconds))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return nil }
            // Readable (or closed: the read then reports EOF).
            if redisBufferRead(context) != REDIS_OK { throw failure(context) }
        }
    }

    /// Reads the next reply, blocking up to the command timeout.
    func readReply() throws(RedisError) -> RedisReply {
        guard let context else {
            throw RedisError(code: .connectionClosed, message: "no connection to \(configuration.endpoint)")
        }
        var raw: UnsafeMutableRawPointer?
        if redisGetReply(context, &raw) != REDIS_OK || raw == nil { throw failure(context) }
        defer { freeReplyObject(raw) }
        return HiredisContext.copy(raw!.assumingMemoryBound(to: redisReply.self))
    }

    /// The typed error for the context's failure; drops the context so the next use reconnects.
    private func failure(_ context: UnsafeMutablePointer<redisContext>) -> RedisError {
        let error = HiredisContext.error(from: context, phase: .command, configuration: configuration)
        close()
        return error
    }

    /// Appends one command, already in RESP form (``RedisCommand/wireHeader`` then its
    /// ``RedisCommand/wireArguments``), through `redisAppendFormattedCommand`: binary-safe by
    /// construction, one copy of the bytes.
    private static func append(_ command: RedisCommand, to context: UnsafeMutablePointer<redisContext>) -> Int32 {
        func appendBytes(_ bytes: [UInt8]) -> Int32 {
            bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) {
                    redisAppendFormattedCommand(context, $0.baseAddress, $0.count)
                }
            }
        }
        let status = appendBytes(command.wireHeader)
        guard status == REDIS_OK else { return status }
        return appendBytes(command.wireArguments)
    }

    /// Copies a hiredis reply tree into Swift values.
    private static func copy(_ reply: UnsafePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        func bytes() -> [UInt8] {
            guard let str = value.str, value.len > 0 else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: value.len))
        }
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bulk(bytes())
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(RedisError(serverReply: String(decoding: bytes(), as: UTF8.self)))
        case REDIS_REPLY_INTEGER:
            return .integer(value.integer)
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                if let element = value.element[index] {
                    elements.append(copy(element))
                } else {
                    elements.append(.null)
                }
            }
            return .array(elements)
        default:
            return .error(
                RedisError(code: .protocolError, message: "unknown reply type \(value.type) from the server"))
        }
    }

    /// Turns the context's error flags into a typed error naming the address.
    private static func error(
        from context: UnsafeMutablePointer<redisContext>, phase: Phase, configuration: RedisConfiguration
    ) -> RedisError {
        let errorText = withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let endpoint = configuration.endpoint
        let timedOut =
            errorText.contains("Resource temporarily unavailable") || errorText.contains("timed out")
            || errorText.contains("Timeout")
        switch context.pointee.err {
        case REDIS_ERR_IO where timedOut, REDIS_ERR_OTHER where timedOut:
            let limit = phase == .connect ? configuration.connectTimeout : configuration.commandTimeout
            let what = phase == .connect ? "connecting to" : "waiting for a reply from"
            return RedisError(code: .timeout, message: "timed out after \(limit) \(what) \(endpoint)")
        case REDIS_ERR_EOF:
            return RedisError(code: .connectionClosed, message: "\(endpoint) closed the connection")
        case REDIS_ERR_PROTOCOL:
            return RedisError(code: .protocolError, message: "protocol error from \(endpoint): \(errorText)")
        default:
            if phase == .connect && !errorText.contains("reset") && !errorText.contains("closed") {
                return RedisError(code: .connectionRefused, message: "cannot connect to \(endpoint): \(errorText)")
            }
            return RedisError(code: .connectionClosed, message: "connection to \(endpoint) failed: \(errorText)")
        }
    }
}

extension timeval {
    /// A `timeval` from a positive `Duration`.
    init(_ duration: Duration) {
        // Clamped to 0…1 year: a larger timeout is "wait", and Int(seconds) stays exact.
        let (seconds, attoseconds) = min(max(duration, .zero), .seconds(31_536_000)).components
        self.init(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}

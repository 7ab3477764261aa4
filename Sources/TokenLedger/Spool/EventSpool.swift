import Foundation
import Logging
import RedisClient
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A local, append-only, fsync'd spool of events that could not reach Redis.
///
/// Events are JSON lines in segment files (`segment-*.jsonl`) under one directory. Each process
/// appends to a segment of its own, holding an exclusive `flock` on it while it is open, so several
/// processes can share a directory. A replay takes every segment nobody holds (its own after
/// rotating), applies its events in order, and deletes it; if Redis fails midway, the rest is
/// written back. A torn last line (a writer killed mid-append) is discarded. Events that can never
/// apply are moved to `rejected-*.jsonl` (their reasons, line for line, to `rejected-*.jsonl.reasons`)
/// and reported loudly; events whose cycle's call ids were dropped (``ParkedWrite``) to `parked.jsonl`
/// (``ParkedEvents``).
///
/// ### Threading
/// `Sendable`; appends are serialized by a lock. One replay runs at a time per instance.
public final class EventSpool: Sendable {
    /// Spool settings.
    public struct Options: Sendable, Hashable {
        /// The most bytes of waiting events; beyond it appends fail with ``SpoolError/Code/full``. Default 64 MiB.
        public var maximumBytes: Int
        /// The fraction of ``maximumBytes`` at which each append logs a warning. Default 0.8.
        public var warningFraction: Double

        /// Creates options.
        public init(maximumBytes: Int = 64 << 20, warningFraction: Double = 0.8) {
            self.maximumBytes = maximumBytes
            self.warningFraction = warningFraction
        }
    }

    private struct State {
        var descriptor: Int32 = -1
        var segmentPath: String?
        var bytes = 0
    }

    /// The spool directory.
    public let directory: String
    /// The settings.
    public let options: Options
    private let logger: Logger
    private let state: Mutex<State>
    /// Whether a replay runs, and the replays waiting for it to finish (served in order).
    private let replaying = Mutex<(busy: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    private let syncs = Atomic<Int>(0)

    /// The fsyncs appends have made (tests check that concurrent appends share them).
    var syncCount: Int { syncs.load(ordering: .relaxed) }

    /// Opens (creating if needed) a spool directory.
    ///
    /// - Throws: ``SpoolError`` when the directory cannot be created or read.
    public init(
        directory: String, options: Options = Options(),
        logger: Logger = Logger(label: "tokenledger.spool", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws(SpoolError) {
        self.directory = directory
        self.options = options
        self.logger = logger
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SpoolError(
                code: .io, message: "cannot create the spool directory \(directory): \(error.localizedDescription)")
        }
        let existing = EventSpool.segmentFiles(in: directory).reduce(0) { $0 + EventSpool.fileSize($1) }
        self.state = Mutex(State(bytes: existing))
    }

    deinit {
        state.withLock { state in
            if state.descriptor >= 0 { Glibc.close(state.descriptor) }
        }
    }

    /// Appends one event and fsyncs it before returning.
    public func append(_ event: SpooledEvent) throws(SpoolError) {
        try append([event])
    }

    /// Appends events with one write and one fsync.
    ///
    /// - Throws: ``SpoolError``: `full` when the bound would be passed (nothing is written); `io` when
    ///   writing or syncing failed: some of the events may have reached the segment, which is then
    ///   closed, so appending them again cannot corrupt it (replays count an event once).
    public func append(_ events: [SpooledEvent]) throws(SpoolError) {
        guard !events.isEmpty else { return }
        var bytes: [UInt8] = []
        for event in events {
            do {
                bytes += try event.line()
            } catch {
                throw SpoolError(code: .io, message: "cannot encode a spool event: \(error)")
            }
        }
        let (total, warn) = try state.withLock { state throws(SpoolError) -> (Int, Bool) in
            guard state.bytes + bytes.count <= options.maximumBytes else {
                throw SpoolError(
                    code: .full,
                    message:
                        "the spool at \(directory) is full (\(state.bytes) of \(options.maximumBytes) bytes); the event was not written"
                )
            }
            if state.descriptor < 0 { try openSegment(&state) }
            do throws(SpoolError) {
                try writeAll(bytes, to: state.descriptor, path: state.segmentPath ?? directory)
                guard fsync(state.descriptor) == 0 else {
                    throw SpoolError(
                        code: .io,
                        message:
                            "fsync of \(state.segmentPath ?? directory) failed: \(String(cString: strerror(errno)))")
                }
            } catch {
                // Part of the lines may be in the segment, the last one cut short. The next append
                // starts a new segment, so nothing is glued to that fragment: a replay drops a torn
                // last line and applies whole ones (a duplicate of a retried event counts once).
                Glibc.close(state.descriptor)
                state.descriptor = -1
                state.segmentPath = nil
                throw error
            }
            state.bytes += bytes.count
            syncs.add(1, ordering: .relaxed)
            return (state.bytes, Double(state.bytes) >= Double(options.maximumBytes) * options.warningFraction)
        }
        if warn {
            logger.warning(
                "spool is filling up",
                metadata: [
                    "tokenledger.spool.directory": "\(directory)", "tokenledger.spool.bytes": "\(total)",
                    "tokenledger.spool.maximum_bytes": "\(options.maximumBytes)",
                ])
        }
    }

    /// Opens a new segment: created under a temporary name, locked, then renamed, so a replayer can
    /// never see it unlocked.
    private func openSegment(_ state: inout State) throws(SpoolError) {
        let name =
            "segment-\(Int(Date().timeIntervalSince1970 * 1000))-\(getpid())-\(UUID().uuidString.prefix(8)).jsonl"
        let temporary = directory + "/.writing-" + name
        let final = directory + "/" + name
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw SpoolError(code: .io, message: "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX) == 0, rename(temporary, final) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            unlink(temporary)
            throw SpoolError(code: .io, message: "cannot lock or name the segment \(final): \(reason)")
        }
        state.descriptor = descriptor
        state.segmentPath = final
    }

    /// Closes this process's current segment (releasing its lock) so any replayer can take it;
    /// the next append opens a new segment. Call it when shutting down.
    public func close() {
        rotate()
    }

    /// Closes this process's segment so a replay can take it; the next append opens a new one.
    /// Takes a segment's exclusive lock for a replay. A child process this process spawns shares
    /// its open descriptors, and with them their flocks, between its fork and its exec (where
    /// `O_CLOEXEC` closes them), so a segment this process just closed can look held for that
    /// moment; a refused try is retried for up to about 200 ms before the segment counts as a live
    /// writer's (a live writer holds its lock for its whole life).
    static func lockForReplay(_ descriptor: Int32) async -> Bool {
        for attempt in 0..<20 {
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return true }
            if attempt < 19 { try? await Task.sleep(for: .milliseconds(10)) }
        }
        return false
    }

    private func rotate() {
        state.withLock { state in
            if state.descriptor >= 0 { Glibc.close(state.descriptor) }
            state.descriptor = -1
            state.segmentPath = nil
        }
    }

    /// Events waiting, their bytes, and the segments holding them.
    public func status() -> SpoolStatus {
        var events = 0
        var bytes = 0
        let segments = EventSpool.segmentFiles(in: directory)
        for path in segments {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            bytes += data.count
            events += data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        }
        let rejected = EventSpool.files(in: directory, prefix: "rejected-").filter { $0.hasSuffix(".jsonl") }.reduce(0)
        { count, path in
            count + (FileManager.default.contents(atPath: path)?.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } ?? 0)
        }
        return SpoolStatus(
            directory: directory, events: events, bytes: bytes, segments: segments.count,
            maximumBytes: options.maximumBytes, rejected: rejected, parked: ParkedEvents(directory: directory).count)
    }

    /// The outcome of applying one event during a replay.
    public enum ApplyOutcome: Sendable {
        /// Applied now.
        case applied
        /// Redis already had it.
        case duplicate
        /// It can never apply (bad data); set it aside.
        case rejected(String)
        /// Its cycle's call ids were dropped (``ParkedWrite``): move it to the parked file with the reason.
        case parked(String)
        /// It belongs to another namespace: it stays in the spool, for a replay into that namespace.
        case otherNamespace(String)
    }

    /// Replays every segment no live writer holds, in order; stops at the first event `apply`
    /// throws for (Redis unavailable), writing the rest back. Replays of one spool run one at a
    /// time: a call made while another replay runs waits for it, then replays what is left.
    ///
    /// - Parameter apply: Applies one event; throws when Redis cannot be reached.
    /// - Returns: What was done. Throws only `apply`'s first error, after saving what is left.
    public func replay(_ apply: (SpooledEvent) async throws -> ApplyOutcome) async throws -> ReplayResult {
        // One replay at a time. A replay asked for while another runs waits for it and then runs
        // itself, so a caller that spooled an event and then flushes always sees that event
        // replayed (or kept, when Redis is still down), never a return while another replay is
        // still half-way.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let runNow = replaying.withLock { state -> Bool in
                if state.busy {
                    state.waiters.append(continuation)
                    return false
                }
                state.busy = true
                return true
            }
            if runNow { continuation.resume() }
        }
        defer {
            // Hand the turn to the next waiter (still busy), or mark the spool idle.
            let next = replaying.withLock { state -> CheckedContinuation<Void, Never>? in
                if state.waiters.isEmpty {
                    state.busy = false
                    return nil
                }
                return state.waiters.removeFirst()
            }
            next?.resume()
        }
        rotate()
        var result = ReplayResult()
        for path in EventSpool.segmentFiles(in: directory) {
            let descriptor = open(path, O_RDWR | O_CLOEXEC)
            guard descriptor >= 0 else { continue }  // taken by another replayer
            defer { Glibc.close(descriptor) }
            guard await EventSpool.lockForReplay(descriptor) else {
                // A live writer holds it; it will be replayed later.
                result.remaining += EventSpool.lineCount(path)
                continue
            }
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            var lines = data.split(separator: 0x0A, omittingEmptySubsequences: true).map { Array($0) }
            if let last = data.last, last != 0x0A, !lines.isEmpty {
                lines.removeLast()
                result.torn += 1
                logger.warning("discarded a torn spool line", metadata: ["tokenledger.spool.segment": "\(path)"])
            }
            var index = 0
            // Lines of other namespaces, written back to this segment after the replay.
            var kept: [[UInt8]] = []
            do {
                while index < lines.count {
                    let event: SpooledEvent
                    do {
                        event = try SpooledEvent.decode(line: lines[index])
                    } catch {
                        setAside(lines[index], reason: "not a spool event: \(SpooledEvent.describe(error))")
                        result.rejected += 1
                        index += 1
                        continue
                    }
                    switch try await apply(event) {
                    case .applied: result.applied += 1
                    case .duplicate: result.duplicates += 1
                    case .rejected(let reason):
                        setAside(lines[index], reason: reason)
                        result.rejected += 1
                    case .parked(let reason):
                        // Throws when the parked file cannot be written: the event stays spooled.
                        try ParkedEvents(directory: directory).append(event, reason: reason)
                        result.parked += 1
                    case .otherNamespace(let reason):
                        if kept.isEmpty {
                            logger.warning(
                                "spool events of another namespace stay spooled",
                                metadata: ["tokenledger.spool.segment": "\(path)", "tokenledger.reason": "\(reason)"])
                        }
                        kept.append(lines[index])
                        result.otherNamespace += 1
                        result.remaining += 1
                    }
                    index += 1
                }
            } catch {
                // Keep what is left, atomically, then stop: Redis is not answering.
                let rest: [UInt8] = (kept + lines[index...]).flatMap { $0 + [UInt8(0x0A)] }
                keep(rest, at: path)
                result.remaining += lines.count - index
                for later in EventSpool.segmentFiles(in: directory) where later > path {
                    result.remaining += EventSpool.lineCount(later)
                }
                adjustBytes()
                throw error
            }
            if kept.isEmpty {
                unlink(path)
            } else {
                keep(kept.flatMap { $0 + [UInt8(0x0A)] }, at: path)
            }
        }
        adjustBytes()
        return result
    }

    private func keep(_ rest: [UInt8], at path: String) {
        let temporary = path + ".rest"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        _ = try? writeAll(rest, to: descriptor, path: temporary)
        fsync(descriptor)
        Glibc.close(descriptor)
        rename(temporary, path)
    }

    private func setAside(_ line: [UInt8], reason: String) {
        logger.error(
            "spool event can never be applied; moved to a rejected file",
            metadata: ["tokenledger.spool.directory": "\(directory)", "tokenledger.reason": "\(reason)"])
        let path = directory + "/rejected-\(getpid()).jsonl"
        appendLine(line, to: path)
        // The reason, one JSON line per rejected line and in the same order, beside the event (the
        // event line itself stays as it was spooled, so it can be fixed and put back in a segment).
        var note: [String: String] = ["reason": reason, "rejected_at": ISO8601Instant.format(Date())]
        if let event = try? SpooledEvent.decode(line: line) { note["call_id"] = event.callID }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let encoded = try? encoder.encode(note) { appendLine(Array(encoded), to: path + ".reasons") }
    }

    private func appendLine(_ line: [UInt8], to path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        _ = try? writeAll(line + [0x0A], to: descriptor, path: path)
        fsync(descriptor)
        Glibc.close(descriptor)
    }

    private func adjustBytes() {
        let bytes = EventSpool.segmentFiles(in: directory).reduce(0) { $0 + EventSpool.fileSize($1) }
        state.withLock { $0.bytes = bytes }
    }

    private func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(SpoolError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw SpoolError(code: .io, message: "write to \(path) failed: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    static func segmentFiles(in directory: String) -> [String] {
        files(in: directory, prefix: "segment-").filter { $0.hasSuffix(".jsonl") }
    }

    static func files(in directory: String, prefix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix(prefix) }.sorted().map { directory + "/" + $0 }
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    static func lineCount(_ path: String) -> Int {
        FileManager.default.contents(atPath: path)?.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } ?? 0
    }
}

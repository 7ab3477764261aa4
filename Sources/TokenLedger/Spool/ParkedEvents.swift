import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Events that can no longer be deduplicated, set aside for an administrator: `parked.jsonl` in the
/// spool directory.
///
/// An event is parked when its cycle's call ids were dropped by rollover after the dedupe window
/// (``ParkedWrite``): applying it might count a call twice, dropping it might lose one, so neither
/// happens by itself. Each line is one JSON object, `{"event": <the spooled event>, "parked_at":
/// <ISO 8601>, "reason": <sentence>}`, appended and fsync'd under an exclusive `flock` of
/// `parked.lock` (writers of several processes share the file). `tokenledger spool parked list`
/// shows them, `apply --yes` applies them anyway (``TokenRepository/applyParked(_:)``) and `drop --yes`
/// discards them; both rewrite the file atomically under the same lock.
public struct ParkedEvents: Sendable {
    /// The spool directory holding the file.
    public let directory: String

    /// The parked events of a spool directory.
    public init(directory: String) {
        self.directory = directory
    }

    /// `parked.jsonl` in the directory.
    public var path: String { directory + "/parked.jsonl" }

    /// One parked event.
    public struct Entry: Sendable, Hashable, Codable {
        /// The event as it was spooled or recorded.
        public var event: SpooledEvent
        /// When it was parked (ISO 8601, UTC).
        public var parkedAt: String
        /// Why it was parked.
        public var reason: String

        enum CodingKeys: String, CodingKey {
            case event
            case parkedAt = "parked_at"
            case reason
        }
    }

    /// Appends one event, fsync'd before it returns.
    ///
    /// - Throws: ``SpoolError`` (``SpoolError/Code/io``) when the file cannot be written.
    public func append(_ event: SpooledEvent, reason: String) throws(SpoolError) {
        let line = try Self.encode(Entry(event: event, parkedAt: ISO8601Instant.format(Date()), reason: reason))
        try withLock { () throws(SpoolError) in
            let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw failure("open") }
            defer { Glibc.close(descriptor) }
            try write(line + [0x0A], to: descriptor)
            guard fsync(descriptor) == 0 else { throw failure("fsync") }
        }
    }

    /// The parked events, oldest first (a line that does not decode is skipped).
    public func list() -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return data.split(separator: 0x0A, omittingEmptySubsequences: true).compactMap {
            try? decoder.decode(Entry.self, from: Data($0))
        }
    }

    /// How many events are parked.
    public var count: Int {
        FileManager.default.contents(atPath: path)?.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } ?? 0
    }

    /// Removes the entries `remove` picks (given each entry), keeping the others (and lines that do
    /// not decode) in order: the file is rewritten atomically (`rename`) under the lock.
    ///
    /// - Returns: The entries removed.
    /// - Throws: ``SpoolError`` when the file cannot be rewritten; what `remove` throws (nothing is
    ///   removed then).
    @discardableResult
    public func remove(where remove: (Entry) async throws -> Bool) async throws -> [Entry] {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        let lines = (FileManager.default.contents(atPath: path) ?? Data())
            .split(separator: 0x0A, omittingEmptySubsequences: true).map { Array($0) }
        var removedLines = Set<[UInt8]>()
        var removed: [Entry] = []
        for line in lines {
            guard let entry = try? decoder.decode(Entry.self, from: Data(line)) else { continue }
            if try await remove(entry) {
                removedLines.insert(line)
                removed.append(entry)
            }
        }
        if removed.isEmpty { return [] }
        try withLock { () throws(SpoolError) in
            // Lines appended since the read stay; only the removed ones go.
            let current = (FileManager.default.contents(atPath: path) ?? Data())
                .split(separator: 0x0A, omittingEmptySubsequences: true).map { Array($0) }
            let kept = current.filter { !removedLines.contains($0) }
            let temporary = path + ".rewrite"
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw failure("open") }
            defer { Glibc.close(descriptor) }
            try write(kept.flatMap { $0 + [0x0A] }, to: descriptor)
            guard fsync(descriptor) == 0, rename(temporary, path) == 0 else { throw failure("rewrite") }
        }
        return removed
    }

    static func encode(_ entry: Entry) throws(SpoolError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        do {
            return Array(try encoder.encode(entry))
        } catch {
            throw SpoolError(code: .io, message: "a parked event could not be encoded: \(error)")
        }
    }

    private func withLock<T>(_ body: () throws(SpoolError) -> T) throws(SpoolError) -> T {
        let lockPath = directory + "/parked.lock"
        let descriptor = open(lockPath, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure("open", lockPath) }
        defer { Glibc.close(descriptor) }
        guard flock(descriptor, LOCK_EX) == 0 else { throw failure("flock", lockPath) }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }

    private func write(_ bytes: [UInt8], to descriptor: Int32) throws(SpoolError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("write")
            }
            offset += written
        }
    }

    private func failure(_ operation: String, _ file: String? = nil) -> SpoolError {
        SpoolError(code: .io, message: "\(operation) of \(file ?? path) failed: \(String(cString: strerror(errno)))")
    }
}

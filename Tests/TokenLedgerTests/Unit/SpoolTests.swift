import Foundation
import Testing
import TokenLedger

private func temporarySpoolDirectory() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)").path
}

private func event(_ index: Int, user: String = "u") -> SpooledEvent {
    SpooledEvent(
        operation: .record, user: user, callID: "c\(index)", usage: UsageRecord(inputTokens: index, outputTokens: 1),
        at: Date(timeIntervalSince1970: 1_700_000_000 + Double(index)), namespace: "tl")
}

@Suite("The local spool")
struct SpoolTests {
    @Test("appended events replay in order and the spool is empty afterwards")
    func roundTrip() async throws {
        let directory = temporarySpoolDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try EventSpool(directory: directory)
        for index in 0..<10 { try spool.append(event(index)) }
        try spool.append([event(10), event(11)])
        #expect(spool.status().events == 12)
        let seen = Locked<[SpooledEvent]>([])
        let result = try await spool.replay { event in
            seen.withLock { $0.append(event) }
            return .applied
        }
        #expect(result.applied == 12 && result.remaining == 0)
        #expect(seen.withLock { $0 } == (0..<12).map { event($0) })
        #expect(spool.status().events == 0 && spool.status().segments == 0)
    }

    @Test("a torn last line is discarded; an unreadable line and a rejected event are set aside")
    func tornAndRejected() async throws {
        let directory = temporarySpoolDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try EventSpool(directory: directory)
        try spool.append([event(1), event(2), event(3)])
        // A writer killed mid-append leaves half a line; another line was damaged on disk.
        let segment = try #require(
            try FileManager.default.contentsOfDirectory(atPath: directory).first { $0.hasPrefix("segment-") })
        let handle = try #require(FileHandle(forWritingAtPath: directory + "/" + segment))
        handle.seekToEndOfFile()
        handle.write(Data("not json at all\n{\"op\":\"record\",\"user\":\"half".utf8))
        try handle.close()
        spool.close()  // as if the writer had died: its lock is gone
        let reopened = try EventSpool(directory: directory)
        let result = try await reopened.replay { event in
            event.callID == "c2" ? .rejected("bad on purpose") : .applied
        }
        #expect(result.applied == 2 && result.rejected == 2 && result.torn == 1 && result.remaining == 0)
        #expect(reopened.status().rejected == 2)
    }

    @Test("when Redis fails midway, the rest stays spooled and a later replay finishes it")
    func partialReplay() async throws {
        let directory = temporarySpoolDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try EventSpool(directory: directory)
        try spool.append((0..<6).map { event($0) })
        struct Down: Error {}
        await #expect(throws: Down.self) {
            _ = try await spool.replay { event in
                if event.callID == "c3" { throw Down() }
                return .applied
            }
        }
        #expect(spool.status().events == 3)
        let rest = Locked<[String]>([])
        _ = try await spool.replay { event in
            rest.withLock { $0.append(event.callID) }
            return .applied
        }
        #expect(rest.withLock { $0 } == ["c3", "c4", "c5"])
    }

    @Test("a segment a live writer holds is left alone; the size bound refuses events loudly")
    func lockedAndFull() async throws {
        let directory = temporarySpoolDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try EventSpool(directory: directory)
        try writer.append(event(1))  // `writer` keeps its segment open and locked
        let other = try EventSpool(directory: directory)
        let result = try await other.replay { _ in .applied }
        #expect(result.applied == 0 && result.remaining == 1)

        let small = try EventSpool(directory: temporarySpoolDirectory(), options: .init(maximumBytes: 600))
        try small.append(event(1))
        try small.append(event(2))
        #expect {
            for index in 3..<10 { try small.append(event(index)) }
        } throws: { error in
            (error as? SpoolError)?.code == .full && "\(error)".contains("full")
        }
        try? FileManager.default.removeItem(atPath: small.directory)
    }
}

/// A value behind a lock, shareable with closures (tests).
final class Locked<Value: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: every access goes through `lock`.
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

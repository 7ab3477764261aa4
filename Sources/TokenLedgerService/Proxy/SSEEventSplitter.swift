import Foundation
import TokenLedger

/// Cuts a server-sent-events byte stream into events as they complete, whatever the chunking: an
/// event ends at a blank line (`\n\n` or `\r\n\r\n`). Only the event being received is held; an
/// event larger than ``maximumEventBytes`` without an end is handed on as it is (unparsed), so a
/// body that is no event stream cannot grow the buffer.
struct SSEEventSplitter: Sendable {
    /// The most bytes held for one unfinished event: 4 MiB.
    static let maximumEventBytes = 4 << 20

    private var pending: [UInt8] = []
    /// Where the line being scanned starts in `pending`.
    private var lineStart = 0
    /// How far `pending` has been scanned.
    private var scanned = 0

    /// Adds bytes; returns the events they complete, in order, each with its bytes as received
    /// (blank line included) and whether it may be parsed (false for an oversized piece).
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [(bytes: [UInt8], complete: Bool)] {
        pending.append(contentsOf: bytes)
        var events: [(bytes: [UInt8], complete: Bool)] = []
        var eventStart = 0
        while scanned < pending.count {
            let byte = pending[scanned]
            scanned += 1
            guard byte == UInt8(ascii: "\n") else { continue }
            var lineEnd = scanned - 1
            if lineEnd > lineStart, pending[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            if lineEnd == lineStart {
                // A blank line: the event ends here (a blank line with no event before it is passed on too).
                events.append((Array(pending[eventStart..<scanned]), true))
                eventStart = scanned
            }
            lineStart = scanned
        }
        if eventStart > 0 {
            pending.removeFirst(eventStart)
            lineStart -= eventStart
            scanned -= eventStart
        }
        if pending.count > Self.maximumEventBytes {
            events.append((pending, false))
            pending = []
            lineStart = 0
            scanned = 0
        }
        return events
    }

    /// What is left at the end of the stream (an event without its blank line), if anything.
    mutating func finish() -> [UInt8]? {
        defer {
            pending = []
            lineStart = 0
            scanned = 0
        }
        return pending.isEmpty ? nil : pending
    }
}

/// One server-sent event, read: its `event:` name and its `data:` lines joined.
struct SSEEvent: Sendable {
    /// The `event:` field, if any.
    var name: String?
    /// The `data:` lines joined with `\n` (empty when there were none).
    var data: [UInt8]

    /// Reads an event's bytes (comments and other fields are skipped).
    init(_ bytes: [UInt8]) {
        var name: String?
        var data: [UInt8] = []
        var sawData = false
        for rawLine in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            var line = rawLine[...]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            guard !line.isEmpty, line.first != UInt8(ascii: ":") else { continue }
            let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
            let field = line[line.startIndex..<colon]
            var value = colon < line.endIndex ? line[line.index(after: colon)...] : line[line.endIndex...]
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
            if field.elementsEqual("data".utf8) {
                if sawData { data.append(UInt8(ascii: "\n")) }
                data.append(contentsOf: value)
                sawData = true
            } else if field.elementsEqual("event".utf8) {
                name = String(decoding: value, as: UTF8.self)
            }
        }
        self.name = name
        self.data = data
    }

    /// Whether the data is OpenAI's end marker, `[DONE]`.
    var isDone: Bool { data.elementsEqual("[DONE]".utf8) }

    /// The data as JSON, or `nil` when it is empty, the end marker or not JSON.
    var json: JSONValue? {
        guard !data.isEmpty, !isDone, data.first == UInt8(ascii: "{") else { return nil }
        return try? JSONValue(parsing: Data(data))
    }
}

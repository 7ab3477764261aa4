/// Turns raw input bytes into one ``JSONValue``: a response object, or an array of stream events.
///
/// Accepted inputs, tried in this order:
/// 1. One JSON document (a response object, or a JSON array of decoded stream events).
/// 2. NDJSON: several JSON values, one per line (Ollama streams) → an array of events.
/// 3. Server-sent events: `event:`/`data:` lines separated by blank lines → an array of the `data`
///    payloads; `data: [DONE]` becomes the string `"[DONE]"`, as in the fixtures.
enum InputDecoder {
    static func decode(_ bytes: [UInt8]) throws(ExtractionError) -> JSONValue {
        var start = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        while start < bytes.count, isWhitespace(bytes[start]) { start += 1 }
        guard start < bytes.count else {
            throw ExtractionError(.malformedJSON, at: .root, "the input is empty")
        }
        let first = bytes[start]
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
            switch try JSONParser.parsePrefix(bytes, start: start, end: bytes.count) {
            case .complete(let value):
                return value
            case .trailing(_, let offset):
                // More text after a complete value: NDJSON if every line is a JSON value.
                return try decodeLines(bytes, start: start, trailingOffset: offset)
            }
        }
        if looksLikeServerSentEvents(bytes, start: start) {
            return try decodeServerSentEvents(bytes, start: start)
        }
        // Neither: report it as JSON (scalars parse, other text fails with a located message).
        return try JSONParser.parseDocument(bytes)
    }

    // MARK: - NDJSON

    private static func decodeLines(_ bytes: [UInt8], start: Int, trailingOffset: Int) throws(ExtractionError)
        -> JSONValue
    {
        let notNDJSON = JSONParser.fault(
            bytes, offset: trailingOffset, path: .root,
            "unexpected text after the JSON value (NDJSON needs exactly one JSON value per line)")
        var events: [JSONValue] = []
        var lineStart = start
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            var contentStart = lineStart
            while contentStart < lineEnd, isWhitespace(bytes[contentStart]) { contentStart += 1 }
            if contentStart < lineEnd {
                let result: JSONParser.PrefixResult
                do {
                    result = try JSONParser.parsePrefix(bytes, start: contentStart, end: lineEnd)
                } catch {
                    // A broken first line means the input was never NDJSON (e.g. a pretty-printed
                    // document followed by junk); a broken later line is a broken NDJSON event.
                    if events.isEmpty { throw notNDJSON }
                    throw rebase(error, onto: JSONPath.root.appending(index: events.count), what: "NDJSON line")
                }
                switch result {
                case .complete(let value):
                    events.append(value)
                case .trailing(_, let offset):
                    if events.isEmpty { throw notNDJSON }
                    throw JSONParser.fault(
                        bytes, offset: offset, path: JSONPath.root.appending(index: events.count),
                        "unexpected text after the JSON value (NDJSON needs exactly one JSON value per line)")
                }
            }
            lineStart = lineEnd + 1
        }
        return .array(events)
    }

    // MARK: - Server-sent events

    private static func looksLikeServerSentEvents(_ bytes: [UInt8], start: Int) -> Bool {
        var lineEnd = start
        while lineEnd < bytes.count, bytes[lineEnd] != 0x0A, bytes[lineEnd] != 0x0D { lineEnd += 1 }
        let line = String(decoding: bytes[start..<lineEnd], as: UTF8.self)
        if line.hasPrefix(":") { return true }
        for field in ["data", "event", "id", "retry"] where line.hasPrefix(field) {
            let rest = line.dropFirst(field.count)
            if rest.isEmpty || rest.hasPrefix(":") { return true }
        }
        return false
    }

    private static func decodeServerSentEvents(_ bytes: [UInt8], start: Int) throws(ExtractionError) -> JSONValue {
        let text = String(decoding: bytes[start...], as: UTF8.self)
        var events: [JSONValue] = []
        var dataLines: [Substring] = []
        var sawData = false
        var eventLine = 0
        var lineNumber = 0

        func dispatch() throws(ExtractionError) {
            defer {
                dataLines.removeAll()
                sawData = false
            }
            guard sawData else { return }
            let payload = dataLines.joined(separator: "\n")
            let trimmed = trim(payload)
            let eventPath = JSONPath.root.appending(index: events.count)
            if trimmed.isEmpty { return }
            if trimmed == "[DONE]" {
                events.append(.string("[DONE]"))
                return
            }
            do {
                events.append(try JSONParser.parseDocument(Array(payload.utf8)))
            } catch {
                throw rebase(error, onto: eventPath, what: "SSE event starting at line \(eventLine)")
            }
        }

        // Lines end in \n, \r\n or \r (the SSE grammar allows all three).
        var lines: [Substring] = []
        var current = text.startIndex
        var cursor = text.startIndex
        while cursor < text.endIndex {
            let character = text[cursor]
            if character == "\n" || character == "\r" || character == "\r\n" {
                lines.append(text[current..<cursor])
                current = text.index(after: cursor)
            }
            cursor = text.index(after: cursor)
        }
        lines.append(text[current..<text.endIndex])

        for line in lines {
            lineNumber += 1
            if line.isEmpty {
                try dispatch()
                continue
            }
            if line.hasPrefix(":") { continue }  // comment / keep-alive
            let field: Substring
            var value: Substring
            if let colon = line.firstIndex(of: ":") {
                field = line[line.startIndex..<colon]
                value = line[line.index(after: colon)...]
                if value.hasPrefix(" ") { value = value.dropFirst() }
            } else {
                field = line
                value = ""
            }
            if field == "data" {
                if !sawData { eventLine = lineNumber }
                sawData = true
                dataLines.append(value)
            }
            // `event`, `id`, `retry` and unknown fields do not change the payload.
        }
        try dispatch()  // a last event without a trailing blank line
        return .array(events)
    }

    // MARK: - Helpers

    private static func trim(_ text: String) -> Substring {
        var slice = Substring(text)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return slice
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// Re-roots an error from parsing one event so its path starts at `$[i]`.
    private static func rebase(_ error: ExtractionError, onto eventPath: JSONPath, what: String) -> ExtractionError {
        let inner = error.path.hasPrefix("$") ? String(error.path.dropFirst()) : error.path
        let path = eventPath.description + inner
        var detail = error.message
        if detail.hasPrefix(error.path + ": ") { detail.removeFirst(error.path.count + 2) }
        return ExtractionError(code: error.code, path: path, message: "\(path): \(what): \(detail)")
    }
}

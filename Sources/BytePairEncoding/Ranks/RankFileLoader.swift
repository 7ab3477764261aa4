#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a tiktoken rank file (`base64token rank` per line, optionally gzip-compressed) into a
/// ``TokenTable``, with errors that name the file and the line.
enum RankFileLoader {
    /// Loads and validates the rank file at `path` for a vocabulary of `expectedCount` ranks.
    static func load(path: String, expectedCount: Int) throws(RankFileError) -> TokenTable {
        let raw = try readFile(path: path)
        if raw.isEmpty {
            throw RankFileError(code: .emptyFile, path: path, message: "the file is empty")
        }
        let text: [UInt8]
        let compressed = raw.withUnsafeBytes { Gzip.hasMagic($0) }
        if compressed {
            switch raw.withUnsafeBytes({ Gzip.decompress($0) }) {
            case .success(let bytes): text = bytes
            case .failure(let failure):
                throw RankFileError(code: .gzip, path: path, message: failure.message)
            }
        } else if path.hasSuffix(".gz") {
            throw RankFileError(
                code: .gzip, path: path,
                message: "not in gzip format (the name ends in .gz but the magic bytes 1f 8b are missing)")
        } else {
            text = raw
        }
        return try text.withUnsafeBufferPointer { buffer throws(RankFileError) in
            try parse(buffer, path: path, expectedCount: expectedCount)
        }
    }

    /// Reads a whole file with POSIX calls.
    static func readFile(path: String) throws(RankFileError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        if descriptor < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR {
                throw RankFileError(code: .fileNotFound, path: path, message: "no such file")
            }
            throw RankFileError(
                code: .unreadable, path: path, message: "cannot open: \(String(cString: strerror(code)))")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if got < 0 {
                let code = errno
                if code == EINTR { continue }
                throw RankFileError(
                    code: .unreadable, path: path, message: "cannot read: \(String(cString: strerror(code)))")
            }
            if got == 0 { break }
            bytes.append(contentsOf: chunk[0..<got])
        }
        return bytes
    }

    /// Parses the decompressed text of a rank file.
    static func parse(
        _ text: UnsafeBufferPointer<UInt8>, path: String, expectedCount: Int
    ) throws(RankFileError) -> TokenTable {
        var builder = TokenTableBuilder(expectedCount: expectedCount)
        var decoded = [UInt8](repeating: 0, count: 256)
        var lineNumber = 0
        var lineStart = 0
        let end = text.count
        var lastContentLine = 0

        func failure(_ code: RankFileError.Code, _ message: String) -> RankFileError {
            RankFileError(code: code, path: path, line: lineNumber, message: message)
        }

        while lineStart < end {
            lineNumber += 1
            var lineEnd = lineStart
            while lineEnd < end && text[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            let nextLine = lineEnd + 1
            // Fields are separated by spaces or tabs; a trailing \r (CRLF files) is ignored.
            var fieldCount = 0
            var tokenRange = 0..<0
            var rankRange = 0..<0
            var cursor = lineStart
            while cursor < lineEnd {
                while cursor < lineEnd && isSeparator(text[cursor]) { cursor += 1 }
                if cursor == lineEnd { break }
                let fieldStart = cursor
                while cursor < lineEnd && !isSeparator(text[cursor]) { cursor += 1 }
                if fieldCount == 0 { tokenRange = fieldStart..<cursor }
                if fieldCount == 1 { rankRange = fieldStart..<cursor }
                fieldCount += 1
            }
            lineStart = nextLine
            if fieldCount == 0 { continue }
            lastContentLine = lineNumber
            if fieldCount == 1 {
                throw failure(.missingRank, "a token but no rank (expected `base64token rank`)")
            }
            if fieldCount > 2 {
                throw failure(.malformedLine, "\(fieldCount) fields where `base64token rank` has 2")
            }
            let tokenField = UnsafeBufferPointer(rebasing: text[tokenRange])
            let rankField = UnsafeBufferPointer(rebasing: text[rankRange])

            guard let rank = parseRank(rankField) else {
                throw failure(
                    .invalidRank, "rank \"\(printable(rankField))\" is not a non-negative integer")
            }
            if decoded.count < tokenField.count { decoded = [UInt8](repeating: 0, count: tokenField.count) }
            let tokenLength = decoded.withUnsafeMutableBufferPointer { Base64.decode(tokenField, into: $0) }
            guard let tokenLength, tokenLength > 0 else {
                throw failure(
                    .badBase64, "token \"\(printable(tokenField))\" is not valid base64 for a non-empty token")
            }
            do {
                try decoded.withUnsafeBufferPointer { buffer throws(TokenTableBuilder.Refusal) in
                    try builder.add(
                        UnsafeBufferPointer(rebasing: buffer[0..<tokenLength]), rank: rank, line: lineNumber)
                }
            } catch {
                switch error {
                case .duplicateRank(let firstLine):
                    throw failure(.duplicateRank, "rank \(rank) was already given on line \(firstLine)")
                case .duplicateToken(let otherRank, let firstLine):
                    throw failure(
                        .duplicateToken,
                        "token \"\(printable(tokenField))\" was already given rank \(otherRank) on line \(firstLine)")
                case .rankOutOfRange:
                    throw failure(
                        .rankOutOfRange, "rank \(rank) is not below \(expectedCount), the encoding's rank count")
                case .tokenTooLong:
                    throw failure(.malformedLine, "token of \(tokenLength) bytes is longer than 255 bytes")
                case .vocabularyTooLarge:
                    throw failure(.malformedLine, "the tokens add up to more than 16 MiB")
                }
            }
        }
        if builder.added == 0 {
            throw RankFileError(code: .emptyFile, path: path, message: "the file holds no rank lines")
        }
        if builder.added != expectedCount {
            throw RankFileError(
                code: .rankCountMismatch, path: path, line: lastContentLine,
                message:
                    "\(builder.added) ranks where the encoding expects \(expectedCount) (truncated file or wrong encoding?)"
            )
        }
        let missing = builder.missingBytes()
        if !missing.isEmpty {
            let list = missing.prefix(8).map { "0x" + String($0, radix: 16) }.joined(separator: ", ")
            throw RankFileError(
                code: .missingByteToken, path: path,
                message: "\(missing.count) single bytes have no token (\(list)\(missing.count > 8 ? ", …" : ""))")
        }
        return builder.finish()
    }

    @inline(__always)
    private static func isSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
    }

    /// A decimal rank that fits in 31 bits, or `nil`.
    private static func parseRank(_ field: UnsafeBufferPointer<UInt8>) -> UInt32? {
        guard !field.isEmpty, field.count <= 10 else { return nil }
        var value: UInt64 = 0
        for byte in field {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
        }
        return value < UInt64(Int32.max) ? UInt32(value) : nil
    }

    /// The field as text for a message, cut short and with control bytes escaped.
    private static func printable(_ field: UnsafeBufferPointer<UInt8>) -> String {
        var result = ""
        for byte in field.prefix(40) {
            if byte >= 0x20 && byte < 0x7f {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return field.count > 40 ? result + "…" : result
    }
}

/// Strict standard base64 (RFC 4648 alphabet, `=` padding, length a multiple of 4).
enum Base64 {
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// Decodes `input` into `output`, returning the decoded length, or `nil` if the input is not
    /// valid base64 or does not fit.
    static func decode(_ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>)
        -> Int?
    {
        let count = input.count
        guard count % 4 == 0, count > 0 else { return nil }
        var padding = 0
        if input[count - 1] == UInt8(ascii: "=") { padding += 1 }
        if input[count - 2] == UInt8(ascii: "=") { padding += 1 }
        let decodedCount = count / 4 * 3 - padding
        guard decodedCount <= output.count else { return nil }
        return values.withUnsafeBufferPointer { table -> Int? in
            var written = 0
            var index = 0
            while index < count {
                let isLast = index + 4 == count
                let a = table[Int(input[index])]
                let b = table[Int(input[index + 1])]
                let cByte = input[index + 2]
                let dByte = input[index + 3]
                guard a != 0xFF, b != 0xFF else { return nil }
                let c: UInt8
                let d: UInt8
                if isLast && padding == 2 {
                    guard cByte == UInt8(ascii: "="), dByte == UInt8(ascii: "=") else { return nil }
                    c = 0
                    d = 0
                } else if isLast && padding == 1 {
                    c = table[Int(cByte)]
                    guard c != 0xFF, dByte == UInt8(ascii: "=") else { return nil }
                    d = 0
                } else {
                    c = table[Int(cByte)]
                    d = table[Int(dByte)]
                    guard c != 0xFF, d != 0xFF else { return nil }
                }
                let word = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                output[written] = UInt8(truncatingIfNeeded: word >> 16)
                if written + 1 < decodedCount { output[written + 1] = UInt8(truncatingIfNeeded: word >> 8) }
                if written + 2 < decodedCount { output[written + 2] = UInt8(truncatingIfNeeded: word) }
                written += 3
                index += 4
            }
            return decodedCount
        }
    }
}

import Foundation
import Testing

@testable import BytePairEncoding

/// Loader errors, on small bad files written to a temporary directory.
@Suite("rank file loading")
struct RankFileLoaderTests {
    /// A fresh temporary directory, removed when the test ends.
    final class TempDirectory {
        let url: URL
        init() throws {
            url = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-loader-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(at: url) }

        func write(_ name: String, _ text: String) throws -> String {
            try write(name, Data(text.utf8))
        }

        func write(_ name: String, _ data: Data) throws -> String {
            let path = url.appendingPathComponent(name).path
            try data.write(to: URL(fileURLWithPath: path))
            return path
        }
    }

    /// `base64(byte) rank` for every byte, ranks 0 ... 255.
    static func byteLines() -> [String] {
        (0..<256).map { "\(Data([UInt8($0)]).base64EncodedString()) \($0)" }
    }

    static func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// Loads `text` as a rank file expecting `expectedCount` ranks and returns the error.
    func loadError(_ text: String, expectedCount: Int = 258, name: String = "bad.tiktoken") throws -> RankFileError {
        let directory = try TempDirectory()
        let path = try directory.write(name, text)
        do {
            _ = try RankFileLoader.load(path: path, expectedCount: expectedCount)
        } catch {
            #expect(error.path == path)
            #expect(error.description.hasPrefix(path))
            return error
        }
        struct DidNotFail: Error {}
        throw DidNotFail()
    }

    @Test("a valid file loads, with CRLF line ends and blank lines")
    func validFile() throws {
        let lines = Self.byteLines() + ["\(Self.b64("ab")) 256", "", "\(Self.b64("abc")) 257"]
        let directory = try TempDirectory()
        let path = try directory.write("ok.tiktoken", lines.joined(separator: "\r\n") + "\r\n")
        let table = try RankFileLoader.load(path: path, expectedCount: 258)
        #expect(table.count == 258)
        let abc = Array("abc".utf8) + [UInt8](repeating: 0, count: 8)
        #expect(abc.withUnsafeBufferPointer { table.rank($0.baseAddress!, 3) } == 257)
        #expect(abc.withUnsafeBufferPointer { table.rank($0.baseAddress!, 2) } == 256)
        #expect(table.bytes(ofRank: 257).map(Array.init) == Array("abc".utf8))
    }

    @Test("a missing file names the path")
    func missingFile() throws {
        let directory = try TempDirectory()
        let path = directory.url.appendingPathComponent("nope.tiktoken").path
        #expect(throws: RankFileError.self) { try BytePairEncoder(encoding: .o200kBase, rankFile: path) }
        do {
            _ = try BytePairEncoder(encoding: .o200kBase, rankFile: path)
        } catch {
            #expect(error.code == .fileNotFound)
            #expect(error.path == path)
            #expect(error.line == nil)
        }
        do {
            _ = try BytePairEncoder(encoding: .cl100kBase, directory: directory.url.path)
            Issue.record("an empty directory loaded")
        } catch {
            #expect(error.code == .fileNotFound)
            #expect(error.message.contains("cl100k_base.tiktoken"))
        }
    }

    @Test("an empty file, or one of blank lines, is emptyFile")
    func emptyFile() throws {
        #expect(try loadError("").code == .emptyFile)
        #expect(try loadError("\n\n  \n").code == .emptyFile)
    }

    @Test("bad base64 names its line")
    func badBase64() throws {
        var lines = Self.byteLines()
        lines[2] = "QUJD$ 2"
        let error = try loadError(lines.joined(separator: "\n"))
        #expect(error.code == .badBase64)
        #expect(error.line == 3)
        #expect(error.message.contains("QUJD$"))
        lines[2] = "QUJ 2"  // length not a multiple of 4: a cut line
        #expect(try loadError(lines.joined(separator: "\n")).code == .badBase64)
    }

    @Test("a missing rank names its line")
    func missingRank() throws {
        var lines = Self.byteLines()
        lines[1] = "AQ=="
        let error = try loadError(lines.joined(separator: "\n"))
        #expect(error.code == .missingRank)
        #expect(error.line == 2)
        #expect(error.description.contains(":2: missing_rank"))
    }

    @Test("a non-integer rank names its line", arguments: ["12a", "-1", "1.5", "99999999999"])
    func invalidRank(rank: String) throws {
        var lines = Self.byteLines()
        lines[10] = "Cg== \(rank)"
        let error = try loadError(lines.joined(separator: "\n"))
        #expect(error.code == .invalidRank)
        #expect(error.line == 11)
    }

    @Test("a duplicate rank names both lines")
    func duplicateRank() throws {
        let lines = Self.byteLines() + ["\(Self.b64("ab")) 5"]
        let error = try loadError(lines.joined(separator: "\n"))
        #expect(error.code == .duplicateRank)
        #expect(error.line == 257)
        #expect(error.message.contains("line 6"))
    }

    @Test("a duplicate token names both lines")
    func duplicateToken() throws {
        let lines = Self.byteLines() + ["\(Self.b64("ab")) 256", "\(Self.b64("ab")) 257"]
        let error = try loadError(lines.joined(separator: "\n"))
        #expect(error.code == .duplicateToken)
        #expect(error.line == 258)
        #expect(error.message.contains("line 257"))
    }

    @Test("a rank beyond the encoding's count is rankOutOfRange")
    func rankOutOfRange() throws {
        let lines = Self.byteLines() + ["\(Self.b64("ab")) 258"]
        let error = try loadError(lines.joined(separator: "\n"))
        #expect(error.code == .rankOutOfRange)
        #expect(error.line == 257)
    }

    @Test("too few ranks for the encoding is rankCountMismatch")
    func rankCountMismatch() throws {
        let error = try loadError(Self.byteLines().joined(separator: "\n") + "\n")
        #expect(error.code == .rankCountMismatch)
        #expect(error.line == 256)
        #expect(error.message.contains("256 ranks"))
        // Through the public API: a 256-rank file is not o200k_base.
        let directory = try TempDirectory()
        let path = try directory.write("o200k_base.tiktoken", Self.byteLines().joined(separator: "\n"))
        do {
            _ = try BytePairEncoder(encoding: .o200kBase, directory: directory.url.path)
            Issue.record("a 256-rank file loaded as o200k_base")
        } catch {
            #expect(error.code == .rankCountMismatch)
            #expect(error.path == path)
            #expect(error.message.contains("199998"))
        }
    }

    @Test("a byte without a token is missingByteToken")
    func missingByteToken() throws {
        var lines = Self.byteLines()
        lines[65] = "\(Self.b64("ab")) 65"  // no token for "A" (0x41)
        let error = try loadError(lines.joined(separator: "\n"), expectedCount: 256)
        #expect(error.code == .missingByteToken)
        #expect(error.message.contains("0x41"))
    }

    @Test("extra fields are malformedLine")
    func extraFields() throws {
        var lines = Self.byteLines()
        lines[0] = "AA== 0 zero"
        let error = try loadError(lines.joined(separator: "\n"))
        #expect(error.code == .malformedLine)
        #expect(error.line == 1)
    }

    @Test("corrupt, truncated and non-gzip .gz files are gzip errors")
    func gzipErrors() throws {
        let directory = try TempDirectory()
        // Gzip magic followed by garbage.
        let corrupt = try directory.write(
            "corrupt.tiktoken.gz", Data([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))
        // Not gzip at all, but named .gz.
        let plain = try directory.write("plain.tiktoken.gz", Self.byteLines().joined(separator: "\n"))
        // A real gzip file cut in half.
        let valid = try directory.write(
            "valid.tiktoken",
            (Self.byteLines() + ["\(Self.b64("ab")) 256", "\(Self.b64("abc")) 257"]).joined(separator: "\n"))
        let gzipped = try gzip(valid)
        let truncated = try directory.write("cut.tiktoken.gz", gzipped.prefix(gzipped.count / 2))
        let whole = try directory.write("whole.tiktoken.gz", gzipped)

        for path in [corrupt, plain, truncated] {
            do {
                _ = try RankFileLoader.load(path: path, expectedCount: 258)
                Issue.record("\(path) loaded")
            } catch {
                #expect(error.code == .gzip, "\(error)")
                #expect(error.path == path)
            }
        }
        do {
            _ = try RankFileLoader.load(path: truncated, expectedCount: 258)
        } catch {
            #expect(error.message.contains("truncated"), "\(error)")
        }
        #expect(try RankFileLoader.load(path: whole, expectedCount: 258).count == 258)
    }

    /// Compresses a file with the system's gzip.
    func gzip(_ path: String) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-c", "-9", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        return data
    }
}

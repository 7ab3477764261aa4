import Foundation
import Testing
import TokenLedger

/// One `fixtures/usage/*.json` case: `{"provider","source","response","expected"}`.
struct UsageFixture: Sendable, CustomTestStringConvertible {
    let fileName: String
    let providerName: String
    /// The `response` value, parsed by Foundation (independently of the extractor's own parser).
    let response: JSONValue
    let expected: UsageRecord
    let expectedTotal: Int

    var testDescription: String { fileName }

    /// Whether `response` is an array of stream events.
    var isStream: Bool { response.arrayValue != nil }
}

/// Finds and loads the shared usage fixtures.
///
/// The folder is found by walking up from this source file until a directory has
/// `shared/fixtures/usage` inside it, so the same code works in the scratch package
/// (`/work/scratch/extraction/Tests/TokenLedgerTests/`) and in the real repository
/// (`/work/main/Tests/TokenLedgerTests/`, fixtures at `/work/shared/fixtures/usage`).
/// `TOKENLEDGER_USAGE_FIXTURES` overrides the search.
enum UsageFixtures {
    struct NotFound: Error, CustomStringConvertible {
        let description: String
    }

    static func directory(filePath: String = #filePath) throws -> URL {
        let fileManager = FileManager.default
        if let override = ProcessInfo.processInfo.environment["TOKENLEDGER_USAGE_FIXTURES"], !override.isEmpty {
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: override, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw NotFound(description: "TOKENLEDGER_USAGE_FIXTURES=\(override) is not a directory")
            }
            return URL(fileURLWithPath: override, isDirectory: true)
        }
        var directory = URL(fileURLWithPath: filePath).deletingLastPathComponent()
        var searched: [String] = []
        while true {
            let candidate = directory.appendingPathComponent("shared/fixtures/usage", isDirectory: true)
            searched.append(candidate.path)
            var isDirectory: ObjCBool = false
            if fileManager.fileExists(atPath: candidate.path, isDirectory: &isDirectory), isDirectory.boolValue {
                return candidate
            }
            let parent = directory.deletingLastPathComponent()
            if parent.path == directory.path { break }
            directory = parent
        }
        throw NotFound(
            description: "no shared/fixtures/usage folder above \(filePath); searched:\n"
                + searched.joined(separator: "\n"))
    }

    /// Every `*.json` file in the folder, sorted by name.
    static func fileNames() throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: try directory().path)
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }

    /// The fixture file names for parameterized tests; empty when the folder is missing (the
    /// `fixtureFolderIsPresent` test then fails loudly).
    static var namesForArguments: [String] { (try? fileNames()) ?? [] }

    static func load(_ fileName: String) throws -> UsageFixture {
        let url = try directory().appendingPathComponent(fileName)
        let data = try Data(contentsOf: url)
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let provider = root["provider"] as? String,
            let response = root["response"],
            let expected = root["expected"] as? [String: Any],
            let expectedTotal = expected["total_tokens"] as? Int
        else {
            throw NotFound(description: "\(fileName) is not {provider, response, expected{…, total_tokens}}")
        }
        let expectedData = try JSONSerialization.data(withJSONObject: expected)
        return UsageFixture(
            fileName: fileName,
            providerName: provider,
            response: try JSONValue(jsonObject: response),
            expected: try JSONDecoder().decode(UsageRecord.self, from: expectedData),
            expectedTotal: expectedTotal
        )
    }
}

/// Renders parsed events in the wire formats the extractor accepts.
enum UsageStreamText {
    static func json(_ value: JSONValue, pretty: Bool = false) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// The events as a JSON array, or the single response, as compact JSON bytes.
    static func jsonData(_ value: JSONValue) throws -> Data {
        Data(try json(value).utf8)
    }

    private static func events(_ response: JSONValue) -> [JSONValue] {
        response.arrayValue ?? [response]
    }

    /// SSE text: `event: <type>` when the payload has a `type`, one `data:` line per payload line
    /// (pretty-printing makes multi-line payloads), a blank line after each event, `data: [DONE]` kept.
    static func sse(_ response: JSONValue, pretty: Bool = false, lineEnding: String = "\n") throws -> Data {
        var out = ": recorded stream" + lineEnding
        for event in events(response) {
            if let marker = event.stringValue {
                out += "data: \(marker)" + lineEnding + lineEnding
                continue
            }
            if let type = event["type"]?.stringValue { out += "event: \(type)" + lineEnding }
            for line in try json(event, pretty: pretty).split(separator: "\n", omittingEmptySubsequences: false) {
                out += "data: \(line)" + lineEnding
            }
            out += lineEnding
        }
        return Data(out.utf8)
    }

    /// NDJSON: one compact JSON value per line.
    static func ndjson(_ response: JSONValue) throws -> Data {
        var out = ""
        for event in events(response) { out += try json(event) + "\n" }
        return Data(out.utf8)
    }
}

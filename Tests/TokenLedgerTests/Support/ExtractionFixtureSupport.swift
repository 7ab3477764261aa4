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

/// Finds and loads the usage fixtures.
///
/// The fixtures live in the repository, at `Tests/TokenLedgerTests/Fixtures/usage/` (copied from the
/// shared `fixtures/usage/` folder, plus cases of our own), and are bundled as the test target's
/// resources, so a clone alone runs them. `TOKENLEDGER_USAGE_FIXTURES` points the tests at another
/// folder (for example the shared one, to check a new version of it).
///
/// Every lookup throws when the folder is missing or holds no `*.json` case: a parameterized test
/// whose arguments come from ``fileNames()`` then fails loudly instead of running zero cases.
enum UsageFixtures {
    struct NotFound: Error, CustomStringConvertible {
        let description: String
    }

    static func directory() throws -> URL {
        let fileManager = FileManager.default
        func isDirectory(_ url: URL) -> Bool {
            var isDirectory: ObjCBool = false
            return fileManager.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
        if let override = ProcessInfo.processInfo.environment["TOKENLEDGER_USAGE_FIXTURES"], !override.isEmpty {
            let url = URL(fileURLWithPath: override, isDirectory: true)
            guard isDirectory(url) else {
                throw NotFound(description: "TOKENLEDGER_USAGE_FIXTURES=\(override) is not a directory")
            }
            return url
        }
        let bundled = Bundle.module.bundleURL.appendingPathComponent("Fixtures/usage", isDirectory: true)
        guard isDirectory(bundled) else {
            throw NotFound(
                description: "the usage fixtures are not in the test bundle (looked for \(bundled.path)); "
                    + "they belong in Tests/TokenLedgerTests/Fixtures/usage")
        }
        return bundled
    }

    /// Every `*.json` file in the folder, sorted by name; throws when there is none.
    static func fileNames() throws -> [String] {
        let folder = try directory()
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".json") }.sorted()
        guard !names.isEmpty else {
            throw NotFound(description: "\(folder.path) holds no *.json usage fixture")
        }
        return names
    }

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

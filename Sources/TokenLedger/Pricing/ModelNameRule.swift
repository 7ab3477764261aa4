import Foundation

/// How a model name reported by a call is matched to a price entry when it has none of its own:
/// three textual rules, applied in order, each to the name the previous ones left. The name is tried
/// exactly first and after each rule that changed it; the first name with an entry wins. Nothing is
/// fuzzy: no edit distance, no case folding, no prefix of a longer name (`gpt-4o` never prices
/// `gpt-4o-mini`). A dated snapshot priced differently from its base name (`gpt-4o-2024-05-13`) has
/// an entry of its own, found by the exact match first.
///
/// 1. ``routePrefix``: everything up to the last `/` is dropped (`openai/gpt-4o` → `gpt-4o`,
///    `models/gemini-2.5-pro` → `gemini-2.5-pro`, `bedrock/…`, `vertex_ai/…`).
/// 2. ``bedrockID``: an AWS Bedrock model id loses its optional cross-region prefix
///    (`us.`, `eu.`, `apac.`, `au.`, `ca.`, `jp.`, `us-gov.`, `global.`), its vendor prefix
///    (`anthropic.`, `amazon.`, `meta.`, `mistral.`, `cohere.`, `ai21.`, `deepseek.`, `openai.`,
///    `qwen.`, `writer.`) and its version suffix `-v<N>` or `-v<N>:<M>`
///    (`us.anthropic.claude-sonnet-4-20250514-v1:0` → `claude-sonnet-4-20250514`,
///    `amazon.nova-pro-v1:0` → `nova-pro`). Applies only when the vendor prefix is there.
/// 3. ``snapshotSuffix``: one trailing snapshot or version marker is dropped: a date
///    `-YYYY-MM-DD` (`gpt-4o-2024-08-06`), `-YYYYMMDD` (`claude-sonnet-4-20250514`), `@YYYYMMDD`
///    (Vertex AI's `claude-sonnet-4@20250514`), `-MM-YYYY` (Cohere's `command-a-03-2025`), four
///    digits `-MMDD`/`-YYMM` (`gpt-4-0613`, `mistral-large-2411`, `grok-4-0709`), three digits
///    `-NNN` (Google's `gemini-2.0-flash-001`), or `-latest`/`@latest`.
public enum ModelNameRule: String, Sendable, Hashable, Codable, CaseIterable {
    /// Drop everything up to the last `/`.
    case routePrefix = "route_prefix"
    /// Reduce an AWS Bedrock model id to the model's name.
    case bedrockID = "bedrock_id"
    /// Drop one trailing snapshot date, version number or `latest`.
    case snapshotSuffix = "snapshot_suffix"

    /// The names to try for `model`, in order: the name itself (no rule), then the name after each
    /// rule that changed it, with the rules applied so far.
    public static func candidates(for model: String) -> [(name: String, rules: [ModelNameRule])] {
        var result: [(name: String, rules: [ModelNameRule])] = [(model, [])]
        var name = model
        var rules: [ModelNameRule] = []
        for rule in allCases {
            if let changed = rule.apply(to: name), !changed.isEmpty, changed != name {
                name = changed
                rules.append(rule)
                result.append((name, rules))
            }
        }
        return result
    }

    /// `name` after this rule, or `nil` when the rule does not apply.
    public func apply(to name: String) -> String? {
        switch self {
        case .routePrefix:
            guard let slash = name.lastIndex(of: "/") else { return nil }
            return String(name[name.index(after: slash)...])
        case .bedrockID:
            return Self.bedrockModelName(name)
        case .snapshotSuffix:
            return Self.droppingSnapshotSuffix(name)
        }
    }

    static let bedrockRegions: Set<Substring> = ["us", "eu", "apac", "au", "ca", "jp", "us-gov", "global"]
    static let bedrockVendors: Set<Substring> = [
        "anthropic", "amazon", "meta", "mistral", "cohere", "ai21", "deepseek", "openai", "qwen", "writer",
    ]

    private static func bedrockModelName(_ name: String) -> String? {
        var parts = name.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)[...]
        if parts.count == 3, bedrockRegions.contains(parts[parts.startIndex]) {
            parts = parts.dropFirst()
        }
        // The model's own name may hold dots (`llama3-1-70b-instruct-v1:0` does not, `nova-2.0` might):
        // rejoin whatever follows the vendor.
        guard parts.count >= 2, bedrockVendors.contains(parts[parts.startIndex]) else { return nil }
        var model = parts.dropFirst().joined(separator: ".")
        // `-v1:0`, `-v2`, `-v1:0:200k` is left alone (a context variant, not a version).
        if let dash = model.range(of: "-v", options: .backwards) {
            let version = model[dash.upperBound...]
            let pieces = version.split(separator: ":", omittingEmptySubsequences: false)
            if (1...2).contains(pieces.count), pieces.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }) {
                model = String(model[..<dash.lowerBound])
            }
        }
        return model
    }

    private static func droppingSnapshotSuffix(_ name: String) -> String? {
        let scalars = Array(name.utf8)
        func digits(_ range: Range<Int>) -> Bool {
            range.lowerBound >= 0 && range.upperBound <= scalars.count
                && scalars[range].allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        }
        func byte(_ index: Int, _ character: Character) -> Bool {
            index >= 0 && index < scalars.count && scalars[index] == character.asciiValue
        }
        func cut(_ length: Int) -> String? {
            // Something must be left before the marker.
            length < scalars.count ? String(decoding: scalars[..<(scalars.count - length)], as: UTF8.self) : nil
        }
        let n = scalars.count
        // -YYYY-MM-DD
        if byte(n - 11, "-"), digits(n - 10..<n - 6), byte(n - 6, "-"), digits(n - 5..<n - 3), byte(n - 3, "-"),
            digits(n - 2..<n)
        {
            return cut(11)
        }
        // -MM-YYYY
        if byte(n - 8, "-"), digits(n - 7..<n - 5), byte(n - 5, "-"), digits(n - 4..<n) { return cut(8) }
        // -YYYYMMDD or @YYYYMMDD
        if byte(n - 9, "-") || byte(n - 9, "@"), digits(n - 8..<n) { return cut(9) }
        // -NNNN, -NNN (the dash must be right before the digits: `-12345` is no marker)
        for length in [4, 3] where byte(n - length - 1, "-") && digits(n - length..<n) {
            return cut(length + 1)
        }
        for marker in ["-latest", "@latest"] where name.hasSuffix(marker) { return cut(marker.utf8.count) }
        return nil
    }
}

extension Character {
    /// Whether this is one of `0`…`9`.
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

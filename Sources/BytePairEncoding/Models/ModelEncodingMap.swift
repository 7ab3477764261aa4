/// Which encoding a model name uses, following tiktoken's `model.py` for the o200k_base and
/// cl100k_base models, with caller overrides checked first.
///
/// Names are matched case-insensitively: first exactly, then by the longest matching prefix
/// (so `gpt-4o-mini-2024-07-18` and `ft:gpt-4o-mini:org::id` find `o200k_base`, and
/// `gpt-4-0613` finds `cl100k_base`).
///
/// ```swift
/// let map = ModelEncodingMap(overrides: ["my-proxy-model": .cl100kBase])
/// map.encoding(forModel: "gpt-4o")          // .o200kBase
/// map.encoding(forModel: "my-proxy-model")  // .cl100kBase
/// ```
public struct ModelEncodingMap: Sendable, Hashable {
    /// The built-in exact model names.
    public static let builtInModels: [String: EncodingName] = [
        "o1": .o200kBase, "o3": .o200kBase, "o4": .o200kBase, "o4-mini": .o200kBase,
        "gpt-5": .o200kBase, "gpt-4.1": .o200kBase, "gpt-4.5": .o200kBase, "gpt-4o": .o200kBase,
        "chatgpt-4o-latest": .o200kBase,
        "gpt-4": .cl100kBase, "gpt-3.5-turbo": .cl100kBase, "gpt-3.5": .cl100kBase,
        "gpt-35-turbo": .cl100kBase, "davinci-002": .cl100kBase, "babbage-002": .cl100kBase,
        "text-embedding-ada-002": .cl100kBase, "text-embedding-3-small": .cl100kBase,
        "text-embedding-3-large": .cl100kBase,
    ]

    /// The built-in model-name prefixes (versions, sizes, dated snapshots, fine-tunes).
    public static let builtInPrefixes: [String: EncodingName] = [
        "o1-": .o200kBase, "o3-": .o200kBase, "o4-": .o200kBase,
        "gpt-5": .o200kBase, "gpt-4.5-": .o200kBase, "gpt-4.1-": .o200kBase,
        "gpt-4o-": .o200kBase, "chatgpt-4o-": .o200kBase, "ft:gpt-4o": .o200kBase,
        "gpt-4-": .cl100kBase, "gpt-3.5-turbo-": .cl100kBase, "gpt-35-turbo-": .cl100kBase,
        "text-embedding-3-": .cl100kBase, "ft:gpt-4": .cl100kBase, "ft:gpt-3.5-turbo": .cl100kBase,
        "ft:davinci-002": .cl100kBase, "ft:babbage-002": .cl100kBase,
    ]

    /// Exact model names (lowercased) that take precedence over everything built in.
    public var overrides: [String: EncodingName]
    /// Model-name prefixes (lowercased) that take precedence over the built-in names and prefixes.
    public var prefixOverrides: [String: EncodingName]

    /// Creates a map.
    ///
    /// - Parameters:
    ///   - overrides: Exact model names and their encodings, checked before anything else.
    ///   - prefixOverrides: Model-name prefixes and their encodings, checked next (longest first).
    public init(overrides: [String: EncodingName] = [:], prefixOverrides: [String: EncodingName] = [:]) {
        self.overrides = Dictionary(overrides.map { ($0.key.lowercased(), $0.value) }) { $1 }
        self.prefixOverrides = Dictionary(prefixOverrides.map { ($0.key.lowercased(), $0.value) }) { $1 }
    }

    /// The encoding for `model`, or `nil` when the name is not recognised.
    ///
    /// - Parameter model: A model name such as `gpt-4o-2024-08-06`.
    public func encoding(forModel model: String) -> EncodingName? {
        let name = model.lowercased()
        if let exact = overrides[name] { return exact }
        if let prefixed = Self.longestPrefix(of: name, in: prefixOverrides) { return prefixed }
        if let exact = Self.builtInModels[name] { return exact }
        return Self.longestPrefix(of: name, in: Self.builtInPrefixes)
    }

    private static func longestPrefix(of name: String, in prefixes: [String: EncodingName]) -> EncodingName? {
        var best: (length: Int, encoding: EncodingName)?
        for (prefix, encoding) in prefixes where name.hasPrefix(prefix) {
            if best == nil || prefix.count > best!.length { best = (prefix.count, encoding) }
        }
        return best?.encoding
    }
}

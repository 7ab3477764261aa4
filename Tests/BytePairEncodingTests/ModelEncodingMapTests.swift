import BytePairEncoding
import Testing

@Suite("model → encoding")
struct ModelEncodingMapTests {
    @Test(
        "built-in names and prefixes",
        arguments: [
            ("gpt-4o", EncodingName.o200kBase), ("gpt-4o-mini", .o200kBase), ("gpt-4o-2024-08-06", .o200kBase),
            ("chatgpt-4o-latest", .o200kBase), ("gpt-4.1", .o200kBase), ("gpt-4.1-mini", .o200kBase),
            ("gpt-4.1-nano-2025-04-14", .o200kBase), ("gpt-5", .o200kBase), ("gpt-5-mini", .o200kBase),
            ("gpt-5-nano", .o200kBase), ("gpt-5.1", .o200kBase), ("o1", .o200kBase), ("o1-mini", .o200kBase),
            ("o1-preview-2024-09-12", .o200kBase), ("o3", .o200kBase), ("o3-mini", .o200kBase),
            ("o4-mini", .o200kBase), ("o4-mini-2025-04-16", .o200kBase), ("gpt-4.5-preview", .o200kBase),
            ("ft:gpt-4o-mini-2024-07-18:org::abc", .o200kBase), ("GPT-4O", .o200kBase),
            ("gpt-4", .cl100kBase), ("gpt-4-0613", .cl100kBase), ("gpt-4-32k", .cl100kBase),
            ("gpt-4-turbo", .cl100kBase), ("gpt-3.5-turbo", .cl100kBase), ("gpt-3.5-turbo-0125", .cl100kBase),
            ("gpt-35-turbo-16k", .cl100kBase), ("text-embedding-3-small", .cl100kBase),
            ("text-embedding-3-large", .cl100kBase), ("text-embedding-ada-002", .cl100kBase),
            ("ft:gpt-3.5-turbo-0613:org::id", .cl100kBase), ("ft:gpt-4-0613:org::id", .cl100kBase),
        ])
    func builtIn(model: String, expected: EncodingName) {
        #expect(ModelEncodingMap().encoding(forModel: model) == expected)
    }

    @Test("unknown models have no encoding")
    func unknown() {
        let map = ModelEncodingMap()
        for model in ["", "claude-3-opus", "llama-3", "davinci", "gpt", "o2", "text-davinci-003"] {
            #expect(map.encoding(forModel: model) == nil, "\(model)")
        }
    }

    @Test("overrides win over built-in names and prefixes")
    func overrides() {
        let map = ModelEncodingMap(
            overrides: ["gpt-4o": .cl100kBase, "My-Proxy": .o200kBase],
            prefixOverrides: ["gpt-4-": .o200kBase, "local/": .cl100kBase])
        #expect(map.encoding(forModel: "gpt-4o") == .cl100kBase)
        #expect(map.encoding(forModel: "my-proxy") == .o200kBase)
        #expect(map.encoding(forModel: "gpt-4-0613") == .o200kBase)
        #expect(map.encoding(forModel: "local/anything") == .cl100kBase)
        #expect(map.encoding(forModel: "gpt-4o-mini") == .o200kBase)
        #expect(map.encoding(forModel: "gpt-4") == .cl100kBase)
    }
}

import Testing

@testable import BytePairEncoding

/// Documented behaviour on hand-picked inputs (the corpus tests check it against tiktoken).
@Suite("encoder behaviour")
struct EncoderBehaviourTests {
    @Test("o200k_base splits")
    func o200kSplits() throws {
        let encoder = try Reference.encoder(.o200kBase)
        #expect(encoder.pieces("Hello world") == ["Hello", " world"])
        #expect(encoder.pieces("HelloWorld") == ["Hello", "World"])
        #expect(encoder.pieces("HELLOworld") == ["HELLOworld"])
        #expect(encoder.pieces("I'M don'T you're") == ["I'M", " don'T", " you're"])
        #expect(encoder.pieces("1234567") == ["123", "456", "7"])
        #expect(encoder.pieces("a  b") == ["a", " ", " b"])
        #expect(encoder.pieces("x  \n  ") == ["x", "  \n", "  "])
        #expect(encoder.pieces("a/b//\n") == ["a", "/b", "//\n"])
        #expect(encoder.pieces("e\u{301}te\u{301}") == ["e\u{301}te\u{301}"])
    }

    @Test("cl100k_base splits")
    func cl100kSplits() throws {
        let encoder = try Reference.encoder(.cl100kBase)
        #expect(encoder.pieces("Hello world") == ["Hello", " world"])
        #expect(encoder.pieces("I'M don'T") == ["I", "'M", " don", "'T"])
        #expect(encoder.pieces("1234567") == ["123", "456", "7"])
        #expect(encoder.pieces("x  \n  ") == ["x", "  \n  "])
        #expect(encoder.pieces("x  \n  y") == ["x", "  \n", " ", " y"])
        #expect(encoder.pieces("e\u{301}te\u{301}") == ["e", "\u{301}te", "\u{301}"])
    }

    @Test("known counts and ids")
    func knownCounts() throws {
        let o200k = try Reference.encoder(.o200kBase)
        let cl100k = try Reference.encoder(.cl100kBase)
        #expect(o200k.encode("hello world") == [24912, 2375])
        #expect(cl100k.encode("hello world") == [15339, 1917])
        #expect(o200k.count("") == 0)
        #expect(o200k.vocabularySize == 200_019)
        #expect(cl100k.vocabularySize == 100_277)
        #expect(o200k.decode(o200k.encode("héllo 世界 🙂")) == "héllo 世界 🙂")
        #expect(o200k.decodeBytes([999_999]) == nil)
    }

    @Test("chat messages add OpenAI's per-message overhead")
    func chatCounting() throws {
        let encoder = try Reference.encoder(.o200kBase)
        let messages = [
            ChatMessage(role: "system", content: "You are a helpful assistant."),
            ChatMessage(role: "user", content: "Hello!", name: "alice"),
        ]
        let text =
            encoder.count("system") + encoder.count("You are a helpful assistant.") + encoder.count("user")
            + encoder.count("Hello!") + encoder.count("alice")
        #expect(encoder.countChat(messages) == text + 3 * 2 + 1 + 3)
        #expect(encoder.countChat([]) == 3)
        let legacy = ChatFormat(tokensPerMessage: 4, tokensPerName: -1, replyPriming: 3)
        #expect(encoder.countChat(messages, format: legacy) == text + 4 * 2 - 1 + 3)
    }
}

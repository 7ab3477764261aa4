import Foundation
import Testing
import TokenLedger

/// A stand-in estimator that counts Unicode scalars, so that the default
/// chat-overhead implementation can be checked with exact numbers.
private struct ScalarCounter: TokenEstimator {
    func countTokens(in text: String) -> Int { text.unicodeScalars.count }
}

/// Pieces whose `o200k_base` counts were measured with tiktoken 0.14.0
/// (`o200k_base` built from bpe-openai's `o200k_base.tiktoken.gz`,
/// `encode_ordinary`). The estimator must land within 15 % (or 3 tokens).
private let measuredPieces: [(name: String, text: String, o200k: Int)] = [
    (
        "english",
        "The estimator makes a single pass over the text and prices every piece with weights fitted against "
            + "real token counts. It is meant for budgeting prompts when no exact encoder is available, so a few "
            + "percent of error is acceptable, while counting characters divided by four is not.",
        52
    ),
    (
        "chinese",
        "这个估算器在没有词表的情况下估计文本的令牌数量。它对中文、英文、源代码和 JSON 分别使用不同的权重，"
            + "因为这些文本的分词方式差别很大。按字符数除以四的旧方法在中文上的误差可达百分之五十。",
        68
    ),
    (
        "python",
        """
        def count_tokens(messages, model="gpt-4o"):
            \"\"\"Return the number of tokens used by a list of messages.\"\"\"
            encoding = tiktoken.encoding_for_model(model)
            total = 3
            for message in messages:
                total += 3
                for key, value in message.items():
                    total += len(encoding.encode(value))
                    if key == "name":
                        total += 1
            return total

        """,
        91
    ),
    (
        "swift",
        """
        public struct UsageRecord: Sendable, Codable {
            public var model: String
            public var promptTokens: Int
            public var completionTokens: Int

            public var totalTokens: Int { promptTokens + completionTokens }
        }

        """,
        48
    ),
    (
        "json",
        #"{"id": "chatcmpl-9xQ2", "object": "chat.completion", "created": 1718049012, "model": "gpt-4o-2024-05-13", "#
            + #""usage": {"prompt_tokens": 1234, "completion_tokens": 56, "total_tokens": 1290}, "choices": [{"index": 0, "#
            + #""finish_reason": "stop", "message": {"role": "assistant", "content": "Hello!"}}]}"#,
        106
    ),
    (
        "mixed Chinese and commands",
        "请运行 swift build -c release，然后执行 .build/release/EstimatorAccuracy corpus.json 查看每个类别的误差。",
        26
    ),
]

/// Texts that exercise every alternative of o200k's pattern (prefixes, contractions, marks, digit
/// groups, punctuation with a leading space and trailing newlines, whitespace and newline runs,
/// scripts, emoji), with the estimates of the Python mirror of the estimator
/// (`scripts/estimator_calibrate.py --pin-texts`) for `o200k_base` and `cl100k_base` with the committed
/// weights: the Swift pass and the mirror the weights are fitted with must agree.
private let pinnedEstimates: [(text: String, o200k: Int, cl100k: Int)] = [
    ("Hello world", 2, 2),
    ("HelloWorld", 2, 3),
    ("HELLOworld", 2, 2),
    ("I'M don'T you're we'll they've", 6, 6),
    ("don\u{17F}t", 2, 2),
    ("1234567 and 12", 6, 6),
    ("a  b", 3, 3),
    ("x  \n  ", 3, 3),
    ("x  \n  y", 4, 4),
    ("a/b//\n", 3, 3),
    ("e\u{301}te\u{301}", 2, 3),
    ("!!\u{301}", 2, 2),
    (".\u{301}x", 3, 3),
    ("\u{301}abc", 2, 2),
    (" \u{301}abc", 2, 2),
    ("\tindent\n\t\tdeeper", 5, 5),
    ("line one\r\nline two\n\n\n\n\n\nend", 8, 8),
    ("   spaces    before  words", 6, 6),
    ("trailing spaces   ", 4, 4),
    ("                                                                      x", 3, 3),
    ("\u{3000}\u{3001}\u{300C}\u{5F15}\u{7528}\u{300D}", 5, 5),
    (
        "\u{4F60}\u{597D}\u{FF0C}\u{4E16}\u{754C}\u{FF01}\u{8FD9}\u{662F}\u{4E00}\u{4E2A}\u{6D4B}\u{8BD5}\u{3002}", 10,
        14
    ),
    ("\u{3053}\u{308C}\u{306F}\u{30C6}\u{30B9}\u{30C8}\u{3067}\u{3059}", 5, 7),
    ("\u{C548}\u{B155}\u{D558}\u{C138}\u{C694} \u{C138}\u{ACC4}", 6, 9),
    ("\u{41F}\u{440}\u{438}\u{432}\u{435}\u{442}, \u{43C}\u{438}\u{440}!", 6, 7),
    ("\u{645}\u{631}\u{62D}\u{628}\u{627} \u{628}\u{627}\u{644}\u{639}\u{627}\u{644}\u{645}", 5, 10),
    ("caf\u{E9} na\u{EF}ve \u{DC}ber", 5, 5),
    ("\u{1F600}\u{1F44D}\u{1F3FD} \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467} ok", 12, 12),
    ("--------========", 2, 2),
    (" ...!?", 2, 2),
    ("\u{201C}quoted\u{201D} \u{2014} dash\u{2026}", 6, 6),
    ("func f(x: Int) -> [String: Int] {\n    return [:]\n}\n", 19, 19),
    ("{\"a\": [1, 2.5, -3e10], \"b\": null}", 21, 21),
    ("snake_case_name camelCaseName SCREAMING_CASE", 10, 10),
    ("https://example.com/path?q=1&r=two#frag", 13, 12),
    ("\u{295} \u{1C5}ungla", 2, 3),
    ("x\u{A0}y\u{2009}z\u{200B}w", 4, 4),
    ("\u{0}\u{7}\u{7F}", 1, 1),
    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 9, 10),
    (
        "\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}\u{4E00}",
        23, 30
    ),
    ("99999999999999999999", 7, 7),
    ("!!!!!!!!!!!!\n\n", 2, 2),
    ("\r\n\r\n", 1, 1),
    ("\n", 1, 1),
    (" ", 1, 1),
    ("\u{660}\u{661}\u{662}\u{663}", 2, 2),
]

private let englishParagraph = measuredPieces[0].text
private let chineseParagraph = measuredPieces[1].text

@Suite("HeuristicTokenEstimator")
struct EstimatorTests {
    let estimator = HeuristicTokenEstimator()

    @Test("empty text costs nothing")
    func emptyText() {
        #expect(estimator.countTokens(in: "") == 0)
    }

    @Test(
        "non-empty text costs at least one token",
        arguments: [" ", "a", ".", "\n", "\t\t", "😀", "é", "中", "\u{301}", "7"])
    func atLeastOne(text: String) {
        #expect(estimator.countTokens(in: text) >= 1)
    }

    // Single o200k tokens (tiktoken: each of these encodes to exactly one token).
    @Test("common single tokens", arguments: ["hello", " world", "don't", "\n", " ", "a", "123"])
    func singleTokens(text: String) {
        #expect(estimator.countTokens(in: text) == 1)
    }

    @Test("a two-ideograph word that is one token is estimated within a token")
    func shortChinese() {
        // Ideograph runs are priced by length for the average word: "你好" is one o200k token, but most
        // two-ideograph runs cost between one and two.
        #expect((1...2).contains(estimator.countTokens(in: "你好")))
    }

    @Test("digits are counted in groups of three, as o200k's pre-tokenizer splits them")
    func digitGroups() {
        #expect(estimator.countTokens(in: "1234567") == 3)  // tiktoken o200k_base: 3
        #expect(estimator.countTokens(in: "123456789012") == 4)
    }

    @Test("measured o200k_base counts are matched within 15 %", arguments: measuredPieces.indices)
    func measuredCounts(index: Int) {
        let piece = measuredPieces[index]
        let estimate = estimator.countTokens(in: piece.text)
        let tolerance = max(3, Int((Double(piece.o200k) * 0.15).rounded(.up)))
        #expect(abs(estimate - piece.o200k) <= tolerance, "\(piece.name): estimated \(estimate), o200k \(piece.o200k)")
    }

    @Test("Chinese costs more per character than English")
    func chineseCostsMorePerCharacter() {
        let chinese = Double(estimator.countTokens(in: chineseParagraph)) / Double(chineseParagraph.count)
        let english = Double(estimator.countTokens(in: englishParagraph)) / Double(englishParagraph.count)
        #expect(chinese > 2 * english)
        // chars/4 would say 0.25 for both; o200k needs about 0.7 per Chinese character.
        #expect(chinese > 0.5)
    }

    @Test("growing a text never shrinks its estimate by more than a token")
    func monotonicAppend() {
        for text in [englishParagraph, chineseParagraph, measuredPieces[2].text] {
            var previous = 0
            var prefix = ""
            for character in text {
                prefix.append(character)
                let count = estimator.countTokens(in: prefix)
                #expect(count >= previous - 1, "\(prefix.debugDescription)")
                previous = max(previous, count)
            }
        }
    }

    @Test("repeating a text about doubles its estimate")
    func repetitionScales() {
        for piece in measuredPieces {
            let once = estimator.countTokens(in: piece.text + "\n")
            let twice = estimator.countTokens(in: piece.text + "\n" + piece.text + "\n")
            #expect(abs(twice - 2 * once) <= 2, "\(piece.name)")
        }
    }

    @Test("estimates are deterministic, across instances and threads")
    func determinism() async {
        let texts = measuredPieces.map(\.text)
        let first = texts.map { estimator.countTokens(in: $0) }
        #expect(texts.map { HeuristicTokenEstimator().countTokens(in: $0) } == first)
        let concurrent = await withTaskGroup(of: (Int, Int).self) { group in
            for (index, text) in texts.enumerated() {
                group.addTask { (index, HeuristicTokenEstimator().countTokens(in: text)) }
            }
            var results = [Int](repeating: -1, count: texts.count)
            for await (index, count) in group { results[index] = count }
            return results
        }
        #expect(concurrent == first)
    }

    @Test(
        "the Swift estimator gives the Python mirror's estimates, in both encodings", arguments: pinnedEstimates.indices
    )
    func pinnedEstimatesKept(index: Int) {
        let (text, o200k, cl100k) = pinnedEstimates[index]
        #expect(estimator.countTokens(in: text) == o200k, "\(text.debugDescription)")
        #expect(
            HeuristicTokenEstimator(encoding: .cl100kBase).countTokens(in: text) == cl100k, "\(text.debugDescription)")
    }

    @Test("scripts are priced differently")
    func scripts() {
        // Per-scalar costs: kana and Hangul cost far more than ASCII words.
        let japanese = "これはテストです。トークンの数を見積もります。"
        let korean = "이것은 토큰 수를 추정하는 테스트입니다."
        #expect(estimator.countTokens(in: japanese) > japanese.count / 3)
        #expect(estimator.countTokens(in: korean) > korean.count / 4)
        // A ruler of repeated punctuation is cheap, like its o200k encoding.
        #expect(estimator.countTokens(in: String(repeating: "-", count: 40)) <= 5)
    }
}

@Suite("Chat messages")
struct ChatMessageTests {
    @Test("the default implementation adds 3 per message, 1 per name and 3 for the reply")
    func overheadExact() {
        let counter = ScalarCounter()
        let messages = [
            ChatMessage(role: "system", content: "Be brief."),
            ChatMessage(role: "user", content: "Hi", name: "alice"),
        ]
        // 3 + (3 + 6 + 9) + (3 + 4 + 2 + 1 + 5)
        #expect(counter.countTokens(in: messages) == 36)
        #expect(counter.countTokens(in: []) == ChatMessageOverhead.replyPriming)
    }

    @Test("the heuristic estimator counts messages with the same overhead")
    func heuristicOverhead() {
        let estimator = HeuristicTokenEstimator()
        let messages = [
            ChatMessage(role: "system", content: englishParagraph),
            ChatMessage(role: "user", content: chineseParagraph, name: "li_wei"),
            ChatMessage(role: "assistant", content: ""),
        ]
        var expected = ChatMessageOverhead.replyPriming
        for message in messages {
            expected += ChatMessageOverhead.tokensPerMessage
            expected += estimator.countTokens(in: message.role) + estimator.countTokens(in: message.content)
            if let name = message.name {
                expected += ChatMessageOverhead.tokensPerName + estimator.countTokens(in: name)
            }
        }
        #expect(estimator.countTokens(in: messages) == expected)
        #expect(ChatMessageOverhead.tokensPerMessage == 3)
        #expect(ChatMessageOverhead.tokensPerName == 1)
        #expect(ChatMessageOverhead.replyPriming == 3)
    }

    @Test("ChatMessage encodes with the API's keys and omits a nil name")
    func codable() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let plain = try encoder.encode(ChatMessage(role: "user", content: "Hi"))
        #expect(String(decoding: plain, as: UTF8.self) == #"{"content":"Hi","role":"user"}"#)
        let named = ChatMessage(role: "user", content: "Hi", name: "alice")
        let decoded = try JSONDecoder().decode(ChatMessage.self, from: encoder.encode(named))
        #expect(decoded == named)
    }
}

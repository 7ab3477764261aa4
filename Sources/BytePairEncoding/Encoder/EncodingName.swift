/// A tiktoken encoding this library implements: its pre-tokenization pattern, special tokens
/// and the number of ranks its rank file must hold.
///
/// The patterns, special tokens and their ids are those of tiktoken's
/// `tiktoken_ext/openai_public.py` (tiktoken 0.14).
public enum EncodingName: String, Sendable, Hashable, CaseIterable, Codable {
    /// `o200k_base`: GPT-4o, GPT-4.1, GPT-5 and the o-series reasoning models.
    case o200kBase = "o200k_base"
    /// `cl100k_base`: GPT-4, GPT-3.5 Turbo and the text-embedding-3 and ada-002 embedding models.
    case cl100kBase = "cl100k_base"

    /// The number of mergeable ranks (`0 ..< rankCount`) the rank file must define.
    public var rankCount: Int {
        switch self {
        case .o200kBase: 199_998
        case .cl100kBase: 100_256
        }
    }

    /// The special tokens and their ids.
    public var specialTokens: [String: Int] {
        switch self {
        case .o200kBase:
            ["<|endoftext|>": 199_999, "<|endofprompt|>": 200_018]
        case .cl100kBase:
            [
                "<|endoftext|>": 100_257,
                "<|fim_prefix|>": 100_258,
                "<|fim_middle|>": 100_259,
                "<|fim_suffix|>": 100_260,
                "<|endofprompt|>": 100_276,
            ]
        }
    }

    /// The file names a rank directory may hold for this encoding, in the order they are tried:
    /// `NAME.tiktoken`, then `NAME.tiktoken.gz`.
    public var rankFileNames: [String] {
        ["\(rawValue).tiktoken", "\(rawValue).tiktoken.gz"]
    }

    /// The regular expression tiktoken splits text with before merging, for reference.
    ///
    /// This library does not run it: ``BytePairEncoder`` uses a hand-written scanner that finds
    /// the same pieces.
    public var pattern: String {
        switch self {
        case .o200kBase:
            [
                #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"#,
                #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"#,
                #"\p{N}{1,3}"#,
                #" ?[^\s\p{L}\p{N}]+[\r\n/]*"#,
                #"\s*[\r\n]+"#,
                #"\s+(?!\S)"#,
                #"\s+"#,
            ].joined(separator: "|")
        case .cl100kBase:
            #"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"#
        }
    }
}

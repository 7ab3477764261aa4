import BytePairEncoding

/// Exact token counts with a tiktoken-compatible BPE vocabulary.
public struct BPETokenEstimator: TokenEstimator {
    /// The encoder (o200k_base or cl100k_base, loaded from a rank file).
    public let encoder: BytePairEncoder

    /// Wraps an encoder.
    public init(encoder: BytePairEncoder) { self.encoder = encoder }

    /// The exact number of tokens; special-token text counts as ordinary text.
    public func countTokens(in text: String) -> Int { encoder.count(text) }

    /// The exact count, counted once, twice: an exact count needs no margin.
    ///
    /// - Parameter text: Any text; no special tokens are recognised in it.
    /// - Returns: The count as both the count and the reservation count.
    public func countAndReservation(in text: String) -> (count: Int, reservation: Int) {
        let count = encoder.count(text)
        return (count, count)
    }
}

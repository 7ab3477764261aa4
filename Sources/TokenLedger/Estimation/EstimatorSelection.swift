import BytePairEncoding
import Foundation

/// Chooses the token counter for a text whose model is not known: what `tokenledger estimate` counts
/// with.
///
/// In order:
/// 1. A rank file named by the caller (`--bpe-file`): exact counts with it, in the encoding the
///    caller names, else the one its file name starts with (`cl100k_base.tiktoken.gz` →
///    `EncodingName.cl100kBase`), else `o200k_base`.
/// 2. A rank directory in the configuration (`TOKENLEDGER_BPE_DIR`, ``TokenCounting/directory``):
///    exact counts with the named encoding's file there, else `o200k_base`'s.
/// 3. Neither: the ``HeuristicTokenEstimator``.
///
/// A rank file that is named but cannot be used is an error, never a silent fall back to the
/// heuristic: the caller asked for exact counts. (Per-model choice, for callers that know the model,
/// is ``TokenCounting/estimator(forModel:)``.)
public enum EstimatorSelection {
    /// The encoding a rank file's name says it holds: the encoding whose name the file name (without
    /// its directory) starts with, or `nil` when none does.
    ///
    /// - Parameter path: The rank file's path, e.g. `/ranks/cl100k_base.tiktoken.gz`.
    public static func encoding(ofRankFile path: String) -> EncodingName? {
        let name = (path as NSString).lastPathComponent
        return EncodingName.allCases.first { name.hasPrefix($0.rawValue) }
    }

    /// The estimator to count with.
    ///
    /// - Parameters:
    ///   - rankFile: A rank file (`.tiktoken` or `.tiktoken.gz`) to count exactly with, or `nil`.
    ///   - encoding: The encoding to count in, or `nil` for the rank file's (by its name), else `o200k_base`.
    ///   - counting: The configured counting; its ``TokenCounting/directory`` is used when no rank
    ///     file is named. Default heuristic only.
    /// - Returns: An exact ``BPETokenEstimator``, or the heuristic when no rank file is named or configured.
    /// - Throws: `RankFileError` naming the file (and line) when the rank file is
    ///   missing, unreadable, corrupt or of another encoding.
    public static func estimator(
        rankFile: String? = nil, encoding: EncodingName? = nil, counting: TokenCounting = .heuristic
    ) throws(RankFileError) -> any TokenEstimator {
        if let rankFile {
            let chosen = encoding ?? Self.encoding(ofRankFile: rankFile) ?? .o200kBase
            return BPETokenEstimator(encoder: try BytePairEncoder(encoding: chosen, rankFile: rankFile))
        }
        if counting.directory != nil { return try counting.exactEstimator(for: encoding ?? .o200kBase) }
        return HeuristicTokenEstimator()
    }
}

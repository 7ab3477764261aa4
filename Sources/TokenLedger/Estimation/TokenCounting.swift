import BytePairEncoding
import Synchronization

/// Chooses how to count tokens for a model: exactly, when a rank file for the model's encoding is
/// configured, else with the heuristic estimator of that encoding (the fallback).
///
/// The detailed handler and the quota guard ask it for each call's model. Configure it with a
/// directory holding `o200k_base.tiktoken[.gz]` and/or `cl100k_base.tiktoken[.gz]` (the files the
/// `bpe-openai` package ships), or with `TOKENLEDGER_BPE_DIR` (`scripts/bootstrap`, `scripts/run`
/// and the Docker image set it). Rank files load on first use and are kept.
public final class TokenCounting: Sendable {
    /// Heuristic counting for every model.
    public static let heuristic = TokenCounting(directory: nil)

    /// Where rank files are looked up; `nil` means heuristic only.
    public let directory: String?
    /// Which encoding a model uses (overridable).
    public let modelMap: ModelEncodingMap
    /// The encoding for models the map does not know; `nil` means the `o200k_base` heuristic for them.
    public let fallbackEncoding: EncodingName?
    /// The safety margin of reservation estimates (what a heuristic estimator's `reservationCount(in:)` adds).
    public let reservationMargin: ReservationMargin
    private let heuristics: [EncodingName: HeuristicTokenEstimator]
    private let loaded = Mutex<[EncodingName: Result<BPETokenEstimator, RankFileError>]>([:])

    /// Creates a chooser.
    ///
    /// - Parameters:
    ///   - directory: A directory with rank files; `nil` for heuristic counting only.
    ///   - modelMap: Model → encoding (gpt-4o, gpt-4.1, gpt-5, o1/o3/o4 → o200k_base; gpt-4, gpt-3.5 → cl100k_base).
    ///   - fallbackEncoding: The encoding for unknown models (default o200k_base, as recent models use).
    ///   - reservationMargin: The margin of reservation estimates (default the measured one).
    public init(
        directory: String?, modelMap: ModelEncodingMap = ModelEncodingMap(),
        fallbackEncoding: EncodingName? = .o200kBase, reservationMargin: ReservationMargin = .measured
    ) {
        self.directory = directory
        self.modelMap = modelMap
        self.fallbackEncoding = fallbackEncoding
        self.reservationMargin = reservationMargin
        var heuristics: [EncodingName: HeuristicTokenEstimator] = [:]
        for encoding in EncodingName.allCases {
            heuristics[encoding] = HeuristicTokenEstimator(encoding: encoding, margin: reservationMargin)
        }
        self.heuristics = heuristics
    }

    /// The encoding a model's tokens are counted in: the map's, else ``fallbackEncoding``, else `o200k_base`.
    public func encoding(forModel model: String) -> EncodingName {
        modelMap.encoding(forModel: model) ?? fallbackEncoding ?? .o200kBase
    }

    /// The estimator for a model: exact if its encoding's rank file is available, else the heuristic
    /// of its encoding. Its `countTokens(in:)` is unbiased (what an estimated record bills); its
    /// `reservationCount(in:)` adds ``reservationMargin`` to a heuristic estimate (what ``QuotaGuard``
    /// reserves).
    public func estimator(forModel model: String) -> any TokenEstimator {
        let encoding = encoding(forModel: model)
        guard directory != nil, modelMap.encoding(forModel: model) ?? fallbackEncoding != nil else {
            return heuristicEstimator(for: encoding)
        }
        return (try? exactEstimator(for: encoding)) ?? heuristicEstimator(for: encoding)
    }

    /// The heuristic estimator of an encoding, with this chooser's reservation margin.
    public func heuristicEstimator(for encoding: EncodingName) -> HeuristicTokenEstimator {
        heuristics[encoding] ?? HeuristicTokenEstimator(encoding: encoding, margin: reservationMargin)
    }

    /// The exact estimator for an encoding, loading its rank file on first use.
    ///
    /// - Throws: `RankFileError` naming the file (and line) when it is missing or corrupt.
    public func exactEstimator(for encoding: EncodingName) throws(RankFileError) -> BPETokenEstimator {
        guard let directory else {
            throw RankFileError(
                code: .fileNotFound, path: "", line: nil,
                message: "no rank file directory is configured (TOKENLEDGER_BPE_DIR)")
        }
        if let cached = loaded.withLock({ $0[encoding] }) { return try cached.get() }
        let result = Result { () throws(RankFileError) -> BPETokenEstimator in
            BPETokenEstimator(encoder: try BytePairEncoder(encoding: encoding, directory: directory))
        }
        loaded.withLock { $0[encoding] = result }
        return try result.get()
    }
}

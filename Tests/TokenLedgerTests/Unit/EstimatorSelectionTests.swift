import BytePairEncoding
import Foundation
import Testing
import TokenLedger

/// How `estimate` picks its counter: a named rank file, else the configured directory, else the heuristic.
@Suite("EstimatorSelection")
struct EstimatorSelectionTests {
    private let text = "Quota checks happen before the call. 配额在调用之前检查。 let x = [1, 2, 3]"

    @Test("a rank file's name says its encoding; other names say none")
    func encodingOfRankFile() {
        #expect(EstimatorSelection.encoding(ofRankFile: "/r/cl100k_base.tiktoken.gz") == .cl100kBase)
        #expect(EstimatorSelection.encoding(ofRankFile: "o200k_base-copy.tiktoken") == .o200kBase)
        // The directory does not count.
        #expect(EstimatorSelection.encoding(ofRankFile: "/cl100k_base/ranks.tiktoken") == nil)
        #expect(EstimatorSelection.encoding(ofRankFile: "ranks.tiktoken") == nil)
        #expect(EstimatorSelection.encoding(ofRankFile: "") == nil)
    }

    @Test("no rank file and no directory: the heuristic")
    func heuristic() throws {
        let estimator = try EstimatorSelection.estimator()
        #expect(estimator is HeuristicTokenEstimator)
        #expect(try EstimatorSelection.estimator(encoding: .cl100kBase) is HeuristicTokenEstimator)
        #expect(estimator.countTokens(in: text) == HeuristicTokenEstimator().countTokens(in: text))
    }

    @Test("a named rank file counts exactly in the named encoding, else its name's, else o200k_base")
    func rankFile() throws {
        let directory = try bpeRankDirectory()
        let o200k = try BytePairEncoder(encoding: .o200kBase, directory: directory)
        let cl100k = try BytePairEncoder(encoding: .cl100kBase, directory: directory)
        #expect(o200k.count(text) != cl100k.count(text))
        let file = "\(directory)/cl100k_base.tiktoken.gz"
        let byName = try #require(try EstimatorSelection.estimator(rankFile: file) as? BPETokenEstimator)
        #expect(byName.encoder.encoding == .cl100kBase && byName.countTokens(in: text) == cl100k.count(text))
        // A rank file wins over the configured directory.
        let counting = TokenCounting(directory: "/nonexistent")
        #expect(
            try EstimatorSelection.estimator(rankFile: file, counting: counting).countTokens(in: text)
                == cl100k.count(text))

        // A name that says nothing: o200k_base, unless the caller names the encoding.
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent(
            "ranks-\(UUID().uuidString).tiktoken.gz")
        try FileManager.default.copyItem(atPath: "\(directory)/o200k_base.tiktoken.gz", toPath: copy.path)
        defer { try? FileManager.default.removeItem(at: copy) }
        #expect(try EstimatorSelection.estimator(rankFile: copy.path).countTokens(in: text) == o200k.count(text))
        // The named encoding is checked against the file: o200k's ranks are not cl100k's.
        #expect(throws: RankFileError.self) {
            _ = try EstimatorSelection.estimator(rankFile: copy.path, encoding: .cl100kBase)
        }
    }

    @Test("the configured directory counts exactly in the named encoding, else o200k_base")
    func directory() throws {
        let directory = try bpeRankDirectory()
        let counting = TokenCounting(directory: directory)
        let o200k = try BytePairEncoder(encoding: .o200kBase, directory: directory)
        let cl100k = try BytePairEncoder(encoding: .cl100kBase, directory: directory)
        #expect(try EstimatorSelection.estimator(counting: counting).countTokens(in: text) == o200k.count(text))
        #expect(
            try EstimatorSelection.estimator(encoding: .cl100kBase, counting: counting).countTokens(in: text)
                == cl100k.count(text))
    }

    @Test("a named or configured rank file that cannot be used is an error naming it, not the heuristic")
    func unusable() throws {
        let missing = "/nonexistent/o200k_base.tiktoken"
        #expect {
            _ = try EstimatorSelection.estimator(rankFile: missing)
        } throws: { error in
            (error as? RankFileError)?.path == missing
        }
        #expect {
            _ = try EstimatorSelection.estimator(counting: TokenCounting(directory: "/nonexistent"))
        } throws: { error in
            "\(error)".contains("/nonexistent")
        }
        let corrupt = FileManager.default.temporaryDirectory.appendingPathComponent(
            "o200k_base-\(UUID().uuidString).tiktoken")
        try Data("aGVsbG8= 0\nnot-base64!! 1\n".utf8).write(to: corrupt)
        defer { try? FileManager.default.removeItem(at: corrupt) }
        #expect {
            _ = try EstimatorSelection.estimator(rankFile: corrupt.path)
        } throws: { error in
            (error as? RankFileError)?.line == 2
        }
    }
}
